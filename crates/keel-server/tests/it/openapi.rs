//! `GET /api/openapi.json` as clients misuse it: other methods, junk and oversized query
//! strings, foreign hosts, and many concurrent readers all get a clean answer, and the document
//! is the same every time (built once).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;

use crate::support::*;

const PATH: &str = "/api/openapi.json";

#[tokio::test]
async fn the_description_is_one_document_whatever_the_query_and_concurrency() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let first = app.raw(Method::GET, PATH, Body::empty(), None).await;
    assert_eq!(first.status, StatusCode::OK);
    let doc: Value = serde_json::from_slice(&first.body).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let junk = format!("{PATH}?x={}&%ff=%00%00&y", "a".repeat(60_000));
    let with_junk = app.raw(Method::GET, &junk, Body::empty(), None).await;
    // `%00` is refused before any handler, as everywhere; other junk is ignored.
    assert_eq!(with_junk.status, StatusCode::BAD_REQUEST);
    let ignored = app
        .raw(
            Method::GET,
            &format!("{PATH}?x={}", "a".repeat(60_000)),
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(
        (ignored.status, &ignored.body),
        (StatusCode::OK, &first.body)
    );
    let readers: Vec<_> = (0..16)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.raw(Method::GET, PATH, Body::empty(), None).await })
        })
        .collect();
    for reader in readers {
        let raw = reader.await.expect("task");
        assert_eq!((raw.status, &raw.body), (StatusCode::OK, &first.body));
    }
}

#[tokio::test]
async fn other_methods_and_foreign_hosts_are_refused() {
    let app = TestApp::new().await;
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let raw = app
            .raw(method.clone(), PATH, "{}", Some("application/json"))
            .await;
        assert_eq!(raw.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_error_shape(&raw.json());
    }
    let req = Request::builder()
        .uri(PATH)
        .header("host", "evil.example")
        .body(Body::empty())
        .expect("request");
    let raw = app.send(req).await;
    assert_error(
        raw.status,
        &raw.json(),
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
    );
}
