//! Model registry routes on the wire: the reference's response shapes, methods and mounts,
//! errors with their statuses, source validation (every known CVE pattern in this area is a
//! regression test here), and `/model-versions/get-artifact`.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

async fn send_json(app: &TestApp, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
    let raw = app
        .raw(method, path, body.to_string(), Some("application/json"))
        .await;
    (raw.status, raw.json())
}

async fn create_model(app: &TestApp, name: &str) -> Value {
    app.ok_post("registered-models/create", json!({ "name": name }))
        .await["registered_model"]
        .clone()
}

async fn create_version(app: &TestApp, body: Value) -> Value {
    app.ok_post("model-versions/create", body).await["model_version"].clone()
}

/// A run whose artifact root holds `model/MLmodel`, uploaded through the proxy.
async fn run_with_model(app: &TestApp) -> (String, String) {
    let exp = app.create_experiment("registry-wire").await;
    let run_id = app.create_run(&exp).await;
    let artifact_uri = app.run(&run_id).await["info"]["artifact_uri"]
        .as_str()
        .expect("artifact_uri")
        .to_owned();
    let store_path = artifact_uri
        .strip_prefix("mlflow-artifacts:/")
        .expect("proxied run root");
    let raw = app
        .raw(
            Method::PUT,
            &format!("/api/2.0/mlflow-artifacts/artifacts/{store_path}/model/MLmodel"),
            "flavors: {}\n",
            None,
        )
        .await;
    assert_eq!(raw.status, StatusCode::OK, "{:?}", raw.json());
    (run_id, artifact_uri)
}

#[tokio::test]
async fn registered_model_lifecycle_has_the_reference_shape() {
    let app = TestApp::new().await;
    let created = app
        .ok_post(
            "registered-models/create",
            json!({"name": "clf", "tags": [{"key": "t", "value": "v"}], "description": "d"}),
        )
        .await;
    let m = &created["registered_model"];
    assert_eq!(
        keys(m),
        [
            "creation_timestamp",
            "description",
            "last_updated_timestamp",
            "name",
            "tags"
        ]
    );
    assert_eq!(m["tags"], json!([{"key": "t", "value": "v"}]));
    assert!(m["creation_timestamp"].is_i64());

    // The same through the UI's mount.
    let (status, got) = app
        .get("/ajax-api/2.0/mlflow/registered-models/get?name=clf")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&got["registered_model"], m);

    let (status, body) = app
        .post("registered-models/create", json!({"name": "clf"}))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "RESOURCE_ALREADY_EXISTS",
    );
    assert_eq!(
        body["message"],
        "Registered Model (name=clf) already exists."
    );
    for bad in [json!({}), json!({"name": ""})] {
        let (status, body) = app.post("registered-models/create", bad).await;
        assert_invalid(status, &body, "Missing value for required parameter 'name'");
    }
    let (status, body) = app
        .get_q("registered-models/get", &[("name", "nope")])
        .await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_eq!(body["message"], "Registered Model with name=nope not found");

    let (status, body) = send_json(
        &app,
        Method::PATCH,
        "/api/2.0/mlflow/registered-models/update",
        json!({"name": "clf", "description": "new"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["registered_model"]["description"], "new");
    let renamed = app
        .ok_post(
            "registered-models/rename",
            json!({"name": "clf", "new_name": "clf2"}),
        )
        .await;
    assert_eq!(renamed["registered_model"]["name"], "clf2");
    app.ok_post(
        "registered-models/set-tag",
        json!({"name": "clf2", "key": "k", "value": "v"}),
    )
    .await;
    let (status, body) = send_json(
        &app,
        Method::DELETE,
        "/api/2.0/mlflow/registered-models/delete-tag",
        json!({"name": "clf2", "key": "k"}),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, body) = send_json(
        &app,
        Method::DELETE,
        "/api/2.0/mlflow/registered-models/delete",
        json!({"name": "clf2"}),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, body) = send_json(
        &app,
        Method::DELETE,
        "/api/2.0/mlflow/registered-models/delete",
        json!({"name": "clf2"}),
    )
    .await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
    // Methods are the reference's: update is PATCH only.
    let (status, _) = app
        .post("registered-models/update", json!({"name": "x"}))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn model_versions_have_the_reference_shape() {
    let app = TestApp::new().await;
    let (run_id, _) = run_with_model(&app).await;
    create_model(&app, "m").await;
    let v = create_version(
        &app,
        json!({"name": "m", "source": format!("runs:/{run_id}/model"), "run_id": run_id}),
    )
    .await;
    assert_eq!(
        keys(&v),
        [
            "creation_timestamp",
            "current_stage",
            "description",
            "last_updated_timestamp",
            "name",
            "run_id",
            "run_link",
            "source",
            "status",
            "version"
        ]
    );
    assert_eq!(v["version"], "1");
    assert_eq!(v["current_stage"], "None");
    assert_eq!(v["status"], "READY");
    assert_eq!(v["description"], "");
    assert_eq!(v["run_link"], "");
    let v2 = create_version(
        &app,
        json!({"name": "m", "source": "s3://keel-test-bucket/artifacts/x",
               "tags": [{"key": "a", "value": "b"}], "description": "second"}),
    )
    .await;
    assert_eq!(v2["version"], "2");
    assert_eq!(v2["run_id"], "");
    assert_eq!(v2["tags"], json!([{"key": "a", "value": "b"}]));

    app.ok_post(
        "registered-models/alias",
        json!({"name": "m", "alias": "champ", "version": "2"}),
    )
    .await;
    let by_alias = app
        .ok_get(
            "registered-models/alias",
            &[("name", "m"), ("alias", "champ")],
        )
        .await;
    assert_eq!(by_alias["model_version"]["version"], "2");
    assert_eq!(by_alias["model_version"]["aliases"], json!(["champ"]));
    let model = app.ok_get("registered-models/get", &[("name", "m")]).await;
    assert_eq!(
        model["registered_model"]["aliases"],
        json!([{"alias": "champ", "version": "2"}])
    );
    // Latest versions are listed without their aliases, as the reference sends them.
    let latest = &model["registered_model"]["latest_versions"];
    assert_eq!(array(latest).len(), 1);
    assert_eq!(latest[0]["version"], "2");
    assert!(latest[0].get("aliases").is_none());

    let moved = app
        .ok_post(
            "model-versions/transition-stage",
            json!({"name": "m", "version": "1", "stage": "staging",
                   "archive_existing_versions": false}),
        )
        .await;
    assert_eq!(moved["model_version"]["current_stage"], "Staging");
    let latest = app
        .ok_post(
            "registered-models/get-latest-versions",
            json!({"name": "m", "stages": ["Staging"]}),
        )
        .await;
    assert_eq!(array(&latest["model_versions"]).len(), 1);
    let latest = app
        .ok_get(
            "registered-models/get-latest-versions",
            &[("name", "m"), ("stages", "None")],
        )
        .await;
    assert_eq!(latest["model_versions"][0]["version"], "2");
    assert_eq!(latest["model_versions"][0]["aliases"], json!(["champ"]));

    let uri = app
        .ok_get(
            "model-versions/get-download-uri",
            &[("name", "m"), ("version", "1")],
        )
        .await;
    assert_eq!(
        uri,
        json!({"artifact_uri": format!("runs:/{run_id}/model")})
    );
    let (status, body) = send_json(
        &app,
        Method::PATCH,
        "/api/2.0/mlflow/model-versions/update",
        json!({"name": "m", "version": "1", "description": "desc"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["model_version"]["description"], "desc");

    let found = app
        .ok_get(
            "model-versions/search",
            &[("filter", "name = 'm'"), ("order_by", "version_number ASC")],
        )
        .await;
    let versions: Vec<Value> = array(&found["model_versions"])
        .iter()
        .map(|v| v["version"].clone())
        .collect();
    assert_eq!(versions, vec![json!("1"), json!("2")]);
    let page = app
        .ok_get("registered-models/search", &[("max_results", "1")])
        .await;
    assert_eq!(array(&page["registered_models"]).len(), 1);
    assert!(page.get("next_page_token").is_none());

    let (status, body) = send_json(
        &app,
        Method::DELETE,
        "/api/2.0/mlflow/model-versions/delete",
        json!({"name": "m", "version": "2"}),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, body) = app
        .get_q("model-versions/get", &[("name", "m"), ("version", "2")])
        .await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_eq!(
        body["message"],
        "Model Version (name=m, version=2) not found"
    );
    let (status, body) = app
        .get_q(
            "registered-models/alias",
            &[("name", "m"), ("alias", "champ")],
        )
        .await;
    assert_invalid(status, &body, "Registered model alias champ not found.");
}

#[tokio::test]
async fn registry_bad_input_is_a_4xx_with_the_reference_message() {
    let app = TestApp::new().await;
    create_model(&app, "m").await;
    let cases: Vec<(Method, &str, Value, &str)> = vec![
        (
            Method::POST,
            "model-versions/create",
            json!({"name": "m"}),
            "Missing value for required parameter 'source'",
        ),
        (
            Method::POST,
            "registered-models/alias",
            json!({"name": "m", "alias": "v1", "version": "1"}),
            "Version alias name 'v1' is reserved.",
        ),
        (
            Method::POST,
            "registered-models/alias",
            json!({"name": "m", "alias": "latest", "version": "1"}),
            "'latest' alias name (case insensitive) is reserved.",
        ),
        (
            Method::POST,
            "registered-models/create",
            json!({"name": "a/b"}),
            "Invalid model name 'a/b'. Names cannot contain '/' or ':'.",
        ),
        (
            Method::POST,
            "model-versions/transition-stage",
            json!({"name": "m", "version": "1", "stage": "bogus"}),
            "Invalid Model Version stage: bogus",
        ),
        (
            Method::POST,
            "model-versions/transition-stage",
            json!({"name": "m", "version": "1", "stage": "Archived",
                   "archive_existing_versions": true}),
            "is not an Active stage",
        ),
        (
            Method::POST,
            "registered-models/rename",
            json!({"name": "m", "new_name": ""}),
            "Missing value for required parameter 'new_name'",
        ),
    ];
    for (method, path, body, needle) in cases {
        let (status, got) = send_json(&app, method, &format!("{API}{path}"), body).await;
        assert_invalid(status, &got, needle);
    }
    for (path, params, needle) in [
        (
            "model-versions/get",
            vec![("name", "m"), ("version", "x")],
            "Parameter 'version' must be an integer, got 'x'.",
        ),
        (
            "registered-models/search",
            vec![("filter", "attributes.name = 'm'")],
            "Invalid entity type 'attributes'",
        ),
        (
            "registered-models/search",
            vec![("order_by", "creation_timestamp")],
            "Invalid order by key 'creation_timestamp' specified.",
        ),
        (
            "registered-models/search",
            vec![("max_results", "1001")],
            "max_results",
        ),
        (
            "model-versions/search",
            vec![("filter", "version_number = 1.5")],
            "Invalid value for numeric attribute 'version_number': 1.5",
        ),
        (
            "model-versions/search",
            vec![("filter", "name = 'a' OR name = 'b'")],
            "OR",
        ),
        (
            "model-versions/search",
            vec![("max_results", "200001")],
            "max_results",
        ),
    ] {
        let (status, got) = app.get_q(path, &params).await;
        assert_invalid(status, &got, needle);
    }
    // The reference answers a duplicate order_by with a 500; Keel calls it bad input.
    let (status, got) = app
        .get(&format!(
            "registered-models/search?{}",
            query(&[("order_by", "name"), ("order_by", "name DESC")])
        ))
        .await;
    assert_invalid(status, &got, "duplicate");
}

/// Every known attack on model-version sources in this field, as a regression test: local files
/// (CVE-2023-1177), relative traversal in any scheme (CVE-2023-2356), backslash traversal
/// (CVE-2023-2780), `//proc/self/root` read as a host (CVE-2023-6977), misparsed schemes
/// (CVE-2024-3573), `#` fragments hiding a path (CVE-2024-1483, CVE-2024-3848), `;` parameters
/// (CVE-2024-1593) and double encoding (CVE-2024-1560), plus other hosts and buckets.
#[tokio::test]
async fn malicious_sources_are_rejected_with_400() {
    let app = TestApp::new().await;
    let (run_id, artifact_uri) = run_with_model(&app).await;
    create_model(&app, "target").await;
    let sources = [
        "file:///etc/passwd",
        "file:/etc/passwd",
        "FILE:///etc/passwd",
        "file://localhost/etc/passwd",
        "/etc/passwd",
        "etc/passwd",
        "./model",
        "//proc/self/root",
        "//proc/self/root/etc/passwd",
        "C:/Windows/win.ini",
        "local:///etc/passwd",
        "mlflow-artifacts:/../../../etc",
        "mlflow-artifacts:/x/%2e%2e/%2e%2e/etc",
        "mlflow-artifacts:/x/%252e%252e/%252e%252e/etc",
        "mlflow-artifacts:/x/..%2f..%2fetc",
        "mlflow-artifacts:/x/..\\..\\etc",
        "mlflow-artifacts:/x%00/y",
        "http:///#/../../../../etc/",
        "mlflow-artifacts:/x#/../../etc",
        "mlflow-artifacts:/x;/../../etc",
        "mlflow-artifacts:/x?p=../../etc",
        "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/../../etc",
        "https://evil.example/model",
        "s3://keel-test-bucket/artifacts/../../secrets",
        "s3://keel-test-bucket/other/x",
        "s3://another-bucket/artifacts/x",
        "runs:/abc/../../x",
        "models:/target/../1",
    ];
    for source in sources {
        for run in [None, Some(run_id.as_str())] {
            let mut body = json!({"name": "target", "source": source});
            if let Some(run) = run {
                body["run_id"] = json!(run);
            }
            let (status, got) = app.post("model-versions/create", body).await;
            assert_invalid(status, &got, "Invalid model version source");
        }
    }
    // A traversal that starts inside the run's own artifacts is still refused.
    let (status, got) = app
        .post(
            "model-versions/create",
            json!({"name": "target", "source": format!("{artifact_uri}/../../../etc"),
                   "run_id": run_id}),
        )
        .await;
    assert_invalid(status, &got, "Invalid model version source");
    // Nothing was registered.
    let found = app
        .ok_get("model-versions/search", &[("filter", "name = 'target'")])
        .await;
    assert!(found.get("model_versions").is_none(), "{found}");
    // Legitimate sources pass.
    for body in [
        json!({"name": "target", "source": format!("runs:/{run_id}/model"), "run_id": run_id}),
        json!({"name": "target", "source": format!("{artifact_uri}/model"), "run_id": run_id}),
        json!({"name": "target", "source": "s3://keel-test-bucket/artifacts/1/model"}),
        json!({"name": "target", "source": "models:/target/1"}),
    ] {
        create_version(&app, body).await;
    }
}

#[tokio::test]
async fn get_artifact_serves_a_versions_files_and_nothing_else() {
    let app = TestApp::new().await;
    let (run_id, artifact_uri) = run_with_model(&app).await;
    create_model(&app, "m").await;
    create_version(
        &app,
        json!({"name": "m", "source": format!("runs:/{run_id}/model"), "run_id": run_id}),
    )
    .await;
    create_version(
        &app,
        json!({"name": "m", "source": format!("{artifact_uri}/model"), "run_id": run_id}),
    )
    .await;
    for version in ["1", "2"] {
        let raw = app
            .raw(
                Method::GET,
                &format!(
                    "/model-versions/get-artifact?{}",
                    query(&[("name", "m"), ("version", version), ("path", "MLmodel")])
                ),
                "",
                None,
            )
            .await;
        assert_eq!(
            raw.status,
            StatusCode::OK,
            "version {version}: {:?}",
            raw.json()
        );
        assert_eq!(raw.body, b"flavors: {}\n");
    }
    for path in ["../../../../etc/passwd", "/etc/passwd", "..%2f..%2fetc", ""] {
        let raw = app
            .raw(
                Method::GET,
                &format!(
                    "/model-versions/get-artifact?{}",
                    query(&[("name", "m"), ("version", "1"), ("path", path)])
                ),
                "",
                None,
            )
            .await;
        assert_4xx(raw.status, &raw.json(), path);
    }
    let raw = app
        .raw(
            Method::GET,
            &format!(
                "/model-versions/get-artifact?{}",
                query(&[("name", "m"), ("version", "9"), ("path", "MLmodel")])
            ),
            "",
            None,
        )
        .await;
    assert_eq!(raw.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn logged_model_registration_links_both_ways() {
    let app = TestApp::new().await;
    let exp = app.create_experiment("lm-registry").await;
    let run_id = app.create_run(&exp).await;
    let lm = app
        .ok_post(
            "/api/2.0/mlflow/logged-models",
            json!({"experiment_id": exp, "name": "clf", "source_run_id": run_id}),
        )
        .await["model"]["info"]
        .clone();
    let model_id = lm["model_id"].as_str().expect("model_id").to_owned();
    create_model(&app, "reg").await;
    let v = create_version(
        &app,
        json!({"name": "reg", "source": format!("models:/{model_id}"), "model_id": model_id}),
    )
    .await;
    assert_eq!(v["run_id"], run_id);
    assert_eq!(v["source"], format!("models:/{model_id}"));
    assert!(
        v.get("model_id").is_none(),
        "the reference does not send it: {v}"
    );
    let uri = app
        .ok_get(
            "model-versions/get-download-uri",
            &[("name", "reg"), ("version", "1")],
        )
        .await;
    assert_eq!(uri["artifact_uri"], lm["artifact_uri"]);
    let (status, got) = app
        .get(&format!("/api/2.0/mlflow/logged-models/{model_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        tag(&got["model"]["info"]["tags"], "mlflow.modelVersions"),
        Some(r#"[{"name": "reg", "version": 1}]"#)
    );
    let (status, got) = app
        .post(
            "model-versions/create",
            json!({"name": "reg", "source": format!("models:/{model_id}")}),
        )
        .await;
    assert_invalid(
        status,
        &got,
        "The model_id request parameter must identify the resource that contains the source.",
    );
}
