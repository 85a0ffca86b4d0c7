//! The web UI routes over HTTP: `/` and `/static-files/*` from a fixture table — content types,
//! page security headers, caching, ETags and 304s, precompressed variants, HEAD, JSON 404s, and
//! the 503 page of a build without the UI.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use keel_server::handlers::ui::CONTENT_SECURITY_POLICY;
use keel_server::ui::UiAssets;

use crate::support::{FIXTURE_INDEX, Raw, TestApp, assert_error};

const SCRIPT: &str = "/static-files/assets/index-3f2a9c.js";

async fn fetch(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Raw {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    app.send(req.body(Body::empty()).expect("request")).await
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Raw {
    fetch(app, Method::GET, path, headers).await
}

fn header<'a>(raw: &'a Raw, name: &str) -> Option<&'a str> {
    raw.headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn index_is_served_with_page_headers() {
    let app = TestApp::new().await;
    for path in ["/", "/static-files/index.html"] {
        let raw = get(&app, path, &[]).await;
        assert_eq!(raw.status, StatusCode::OK, "{path}");
        assert_eq!(raw.body, FIXTURE_INDEX, "{path}");
        for (name, want) in [
            ("content-type", "text/html; charset=utf-8"),
            ("content-security-policy", CONTENT_SECURITY_POLICY),
            ("referrer-policy", "same-origin"),
            ("x-frame-options", "DENY"),
            ("x-content-type-options", "nosniff"),
            ("cache-control", "no-cache"),
            ("etag", "\"1111111111111111\""),
            ("vary", "accept-encoding"),
        ] {
            assert_eq!(header(&raw, name), Some(want), "{path} {name}");
        }
        assert_eq!(header(&raw, "content-encoding"), None);
    }
    assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'self'; script-src 'self';"));
    assert!(CONTENT_SECURITY_POLICY.ends_with("frame-ancestors 'none'"));
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_others_revalidate() {
    let app = TestApp::new().await;
    let script = get(&app, SCRIPT, &[]).await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(script.body, b"console.log('keel');");
    assert_eq!(
        header(&script, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        header(&script, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(header(&script, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&script, "content-security-policy"), None);

    let icon = get(&app, "/static-files/favicon.svg", &[]).await;
    assert_eq!(icon.status, StatusCode::OK);
    assert_eq!(header(&icon, "content-type"), Some("image/svg+xml"));
    assert_eq!(header(&icon, "cache-control"), Some("no-cache"));
    assert_eq!(header(&icon, "etag"), Some("\"3333333333333333\""));
    assert_eq!(header(&icon, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&icon, "vary"), None, "no variants, nothing varies");
}

#[tokio::test]
async fn matching_etags_get_304() {
    let app = TestApp::new().await;
    for tag in [
        "\"1111111111111111\"",
        "W/\"1111111111111111\"",
        "\"other\", W/\"1111111111111111\"",
        "*",
    ] {
        let raw = get(&app, "/", &[("if-none-match", tag)]).await;
        assert_eq!(raw.status, StatusCode::NOT_MODIFIED, "{tag}");
        assert!(raw.body.is_empty());
        assert_eq!(header(&raw, "etag"), Some("\"1111111111111111\""));
        assert_eq!(header(&raw, "cache-control"), Some("no-cache"));
    }
    let changed = get(&app, "/", &[("if-none-match", "\"1111111111111112\"")]).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.body, FIXTURE_INDEX);

    // Each encoding is its own representation with its own tag.
    let gz = [("accept-encoding", "gzip")];
    let raw = get(&app, SCRIPT, &gz).await;
    assert_eq!(header(&raw, "etag"), Some("\"2222222222222222-gz\""));
    let raw = get(
        &app,
        SCRIPT,
        &[gz[0], ("if-none-match", "\"2222222222222222-gz\"")],
    )
    .await;
    assert_eq!(raw.status, StatusCode::NOT_MODIFIED);
    let raw = get(
        &app,
        SCRIPT,
        &[("if-none-match", "\"2222222222222222-gz\"")],
    )
    .await;
    assert_eq!(raw.status, StatusCode::OK, "identity was asked for");
    assert_eq!(raw.body, b"console.log('keel');");
}

#[tokio::test]
async fn precompressed_variants_follow_accept_encoding() {
    let app = TestApp::new().await;
    for (accept, encoding, body) in [
        ("gzip, deflate, br, zstd", Some("br"), &b"brotli index"[..]),
        ("gzip", Some("gzip"), b"gzip index"),
        ("br;q=0, gzip;q=0.5", Some("gzip"), b"gzip index"),
        ("br;q=0.4, gzip;q=0.5", Some("gzip"), b"gzip index"),
        ("br;q=0, gzip;q=0", None, FIXTURE_INDEX),
        ("identity", None, FIXTURE_INDEX),
    ] {
        let raw = get(&app, "/", &[("accept-encoding", accept)]).await;
        assert_eq!(raw.status, StatusCode::OK, "{accept}");
        assert_eq!(header(&raw, "content-encoding"), encoding, "{accept}");
        assert_eq!(raw.body, body, "{accept}");
        assert_eq!(header(&raw, "vary"), Some("accept-encoding"), "{accept}");
        assert_eq!(
            header(&raw, "content-type"),
            Some("text/html; charset=utf-8"),
            "the type of the content, not of the encoding"
        );
    }
    // The script has only a gzip variant.
    let raw = get(&app, SCRIPT, &[("accept-encoding", "br")]).await;
    assert_eq!(header(&raw, "content-encoding"), None);
    assert_eq!(header(&raw, "vary"), Some("accept-encoding"));
    let raw = get(&app, SCRIPT, &[("accept-encoding", "br, gzip")]).await;
    assert_eq!(header(&raw, "content-encoding"), Some("gzip"));
    assert_eq!(raw.body, b"gzip script");
}

#[tokio::test]
async fn head_is_get_without_a_body() {
    let app = TestApp::new().await;
    for path in ["/", SCRIPT, "/static-files/favicon.svg"] {
        let full = get(&app, path, &[]).await;
        let head = fetch(&app, Method::HEAD, path, &[]).await;
        assert_eq!(head.status, StatusCode::OK, "{path}");
        assert!(head.body.is_empty(), "{path}");
        for name in ["content-type", "etag", "cache-control"] {
            assert_eq!(header(&head, name), header(&full, name), "{path} {name}");
        }
        assert_eq!(
            header(&head, "content-length"),
            Some(full.body.len().to_string().as_str()),
            "{path}"
        );
    }
    let head = fetch(&app, Method::HEAD, "/static-files/missing.js", &[]).await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_files_get_a_json_404_and_no_fallback() {
    let app = TestApp::new().await;
    for path in [
        "/static-files/missing.js",
        "/static-files/assets/index-3f2a9c.js.gz",
        "/static-files/index.html/",
        "/static-files/../static-files/index.html",
        "/static-files/assets/%2e%2e/index.html",
        "/static-files/assets/..%2findex.html",
        "/static-files//index.html",
        "/static-files/INDEX.HTML",
    ] {
        let (status, body) = app.get(path).await;
        assert_error(
            status,
            &body,
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
        );
    }
}

#[tokio::test]
async fn other_paths_keep_the_json_404_contract() {
    let app = TestApp::new().await;
    for path in [
        "/static-files",
        "/static-files/",
        "/index.html",
        "/experiments",
        "/favicon.ico",
        "/api/2.0/mlflow/nope",
    ] {
        let (status, body) = app.get(path).await;
        assert_error(status, &body, StatusCode::NOT_FOUND, "ENDPOINT_NOT_FOUND");
    }
    let raw = app
        .raw(Method::POST, "/", "{}", Some("application/json"))
        .await;
    assert_eq!(raw.status, StatusCode::METHOD_NOT_ALLOWED);
    // The browser guard covers the UI too.
    let raw = get(&app, "/", &[("host", "evil.example")]).await;
    assert_eq!(raw.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn without_a_built_ui_the_page_is_503() {
    let app = TestApp::with_ui(UiAssets::default()).await;
    let raw = get(&app, "/", &[]).await;
    assert_eq!(raw.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        header(&raw, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(header(&raw, "cache-control"), Some("no-store"));
    let page = String::from_utf8(raw.body).expect("utf-8");
    assert!(page.contains("scripts/build-ui.sh"), "{page}");
    let (status, body) = app.get("/static-files/index.html").await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let health = get(&app, "/health", &[]).await;
    assert_eq!(health.status, StatusCode::OK, "the API is unaffected");
}
