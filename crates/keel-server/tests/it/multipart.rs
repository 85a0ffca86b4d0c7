//! Proxied multipart upload over HTTP (local store): part URLs that point back at the Host the
//! client used, ETags on parts, ordered completion, abort, and refusals of bad input.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::support::{Raw, TestApp, assert_error, assert_invalid};

const MPU: &str = "/api/2.0/mlflow-artifacts/mpu";
const ARTIFACTS: &str = "/api/2.0/mlflow-artifacts/artifacts";
const HOST: &str = "127.0.0.1:5123";

async fn send(app: &TestApp, method: Method, uri: &str, body: Body, json: bool) -> Raw {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST);
    if json {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    app.send(req.body(body).expect("request")).await
}

async fn post(app: &TestApp, uri: &str, body: Value) -> (StatusCode, Value) {
    let raw = send(app, Method::POST, uri, Body::from(body.to_string()), true).await;
    (raw.status, raw.json())
}

/// Creates an upload of `<dir>/<name>` in `parts` parts; returns the ID and part URLs.
async fn create(app: &TestApp, dir: &str, name: &str, parts: i64) -> (String, Vec<String>) {
    let (status, body) = post(
        app,
        &format!("{MPU}/create/{dir}"),
        json!({"path": format!("/home/me/data/{name}"), "num_parts": parts}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let upload_id = body["upload_id"].as_str().expect("upload_id").to_owned();
    let credentials = body["credentials"].as_array().cloned().unwrap_or_default();
    let urls = credentials
        .iter()
        .enumerate()
        .map(|(i, c)| {
            assert_eq!(c["part_number"], json!(i + 1), "{c}");
            c["url"].as_str().expect("url").to_owned()
        })
        .collect();
    (upload_id, urls)
}

/// PUTs a part to its URL (as the client does, by the URL's path); returns the ETag.
async fn put_part(app: &TestApp, url: &str, bytes: &'static [u8]) -> String {
    let path = url
        .strip_prefix(&format!("http://{HOST}"))
        .unwrap_or_else(|| panic!("part URL on the request's host: {url}"));
    let raw = send(app, Method::PUT, path, Body::from(bytes), false).await;
    assert_eq!(raw.status, StatusCode::OK, "{}", raw.json());
    raw.headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .expect("ETag header")
        .to_owned()
}

#[tokio::test]
async fn a_file_uploads_in_parts_and_reads_back_whole() {
    let app = TestApp::new().await;
    let (upload_id, urls) = create(&app, "0/run1/artifacts/models", "model.bin", 3).await;
    assert_eq!(upload_id.len(), 32);
    assert_eq!(urls.len(), 3);
    assert!(
        urls[1].starts_with(&format!("http://{HOST}{MPU}/part/{upload_id}/2?")),
        "part URLs point back at this server, signed: {}",
        urls[1]
    );
    let mut etags = Vec::new();
    for (url, bytes) in urls.iter().zip([&b"first-"[..], b"second-", b"third"]) {
        etags.push(put_part(&app, url, bytes).await);
    }
    // Nothing is visible, staging included, until completion.
    let listing = send(
        &app,
        Method::GET,
        &format!("{ARTIFACTS}?path=0"),
        Body::empty(),
        false,
    )
    .await
    .json();
    assert_eq!(listing, json!({}), "staging is never listed");
    let parts: Vec<Value> = etags
        .iter()
        .enumerate()
        .map(|(i, e)| json!({"part_number": i + 1, "etag": e, "url": urls[i]}))
        .collect();
    let (status, body) = post(
        &app,
        &format!("{MPU}/complete/0/run1/artifacts/models"),
        json!({"path": "/home/me/data/model.bin", "upload_id": upload_id, "parts": parts}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({}));
    let got = send(
        &app,
        Method::GET,
        &format!("{ARTIFACTS}/0/run1/artifacts/models/model.bin"),
        Body::empty(),
        false,
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, b"first-second-third");
    let root = send(&app, Method::GET, ARTIFACTS, Body::empty(), false)
        .await
        .json();
    assert_eq!(root, json!({"files": [{"path": "0", "is_dir": true}]}));
}

#[tokio::test]
async fn the_ajax_mount_gets_ajax_part_urls() {
    let app = TestApp::new().await;
    let (status, body) = post(
        &app,
        "/ajax-api/2.0/mlflow-artifacts/mpu/create/d",
        json!({"path": "f.bin", "num_parts": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = body["credentials"][0]["url"].as_str().unwrap_or_default();
    assert!(
        url.starts_with(&format!(
            "http://{HOST}/ajax-api/2.0/mlflow-artifacts/mpu/part/"
        )),
        "{url}"
    );
}

#[tokio::test]
async fn abort_drops_the_upload() {
    let app = TestApp::new().await;
    let (upload_id, urls) = create(&app, "d", "f.bin", 1).await;
    put_part(&app, &urls[0], b"data").await;
    let (status, body) = post(
        &app,
        &format!("{MPU}/abort/d"),
        json!({"path": "f.bin", "upload_id": upload_id}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = urls[0].trim_start_matches(&format!("http://{HOST}"));
    let late = send(&app, Method::PUT, path, Body::from("x"), false).await;
    assert_error(
        late.status,
        &late.json(),
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

#[tokio::test]
async fn bad_requests_are_refused_with_mlflow_errors() {
    let app = TestApp::new().await;
    let (s, b) = post(&app, &format!("{MPU}/create/d"), json!({"num_parts": 1})).await;
    assert_invalid(s, &b, "'path'");
    let (s, b) = post(
        &app,
        &format!("{MPU}/create/d"),
        json!({"path": "f", "num_parts": 10_001}),
    )
    .await;
    assert_invalid(s, &b, "num_parts");
    let (s, b) = post(&app, &format!("{MPU}/create/d"), json!({"path": "a/.."})).await;
    assert_invalid(s, &b, "Invalid path");
    let (s, b) = post(
        &app,
        &format!("{MPU}/create/%2e%2e/x"),
        json!({"path": "f"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = post(
        &app,
        &format!("{MPU}/create/.keel-mpu"),
        json!({"path": "f"}),
    )
    .await;
    assert_invalid(s, &b, "reserved");

    let (upload_id, urls) = create(&app, "d", "f.bin", 2).await;
    let etag = put_part(&app, &urls[0], b"data").await;
    for (uri, status) in [
        (format!("{MPU}/part/not-an-id/1"), StatusCode::BAD_REQUEST),
        (format!("{MPU}/part/{upload_id}/0"), StatusCode::BAD_REQUEST),
        (
            format!("{MPU}/part/{upload_id}/10001"),
            StatusCode::BAD_REQUEST,
        ),
        // Well formed but unsigned (or signed for another part): refused before the store.
        (
            format!("{MPU}/part/{}/1", "0".repeat(32)),
            StatusCode::FORBIDDEN,
        ),
        (format!("{MPU}/part/{upload_id}/1"), StatusCode::FORBIDDEN),
        (
            urls[1]
                .replace("/2?", "/1?")
                .replace(&format!("http://{HOST}"), ""),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let raw = send(&app, Method::PUT, &uri, Body::from("x"), false).await;
        assert_eq!(raw.status, status, "{uri}: {}", raw.json());
    }
    let complete =
        |parts: Value| json!({"path": "f.bin", "upload_id": upload_id.clone(), "parts": parts});
    let (s, b) = post(
        &app,
        &format!("{MPU}/complete/d"),
        complete(json!([{"part_number": 1, "etag": "\"0123456789abcdef0123456789abcdef\""}])),
    )
    .await;
    assert_invalid(s, &b, "ETag");
    let (s, b) = post(
        &app,
        &format!("{MPU}/complete/d"),
        complete(json!([{"part_number": 2, "etag": etag}])),
    )
    .await;
    assert_invalid(s, &b, "in order");
    let (s, b) = post(
        &app,
        &format!("{MPU}/complete/d"),
        json!({"path": "f.bin", "upload_id": "0".repeat(32), "parts": []}),
    )
    .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    let (s, b) = post(
        &app,
        &format!("{MPU}/complete/d"),
        json!({"path": "f.bin", "parts": []}),
    )
    .await;
    assert_invalid(s, &b, "upload_id");
    // The staging area cannot be reached through the artifact API.
    let raw = send(
        &app,
        Method::GET,
        &format!("{ARTIFACTS}/.keel-mpu/{upload_id}/upload.json"),
        Body::empty(),
        false,
    )
    .await;
    assert_invalid(raw.status, &raw.json(), "reserved");
}

#[tokio::test]
async fn part_urls_need_a_usable_host() {
    let app = TestApp::new().await;
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("{MPU}/create/d"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"path": "f", "num_parts": 1}).to_string()))
        .expect("request");
    // The guard refuses a request without a Host before any handler builds URLs from it.
    let raw = app.send_as_is(req).await;
    assert_error(
        raw.status,
        &raw.json(),
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    );
    assert!(
        raw.json()["message"]
            .as_str()
            .expect("message")
            .contains("Host")
    );
}

#[tokio::test]
async fn server_info_advertises_multipart_upload() {
    let app = TestApp::new().await;
    let raw = send(
        &app,
        Method::GET,
        "/api/3.0/mlflow/server-info",
        Body::empty(),
        false,
    )
    .await;
    assert_eq!(raw.json()["multipart_uploads_enabled"], json!(true));
}
