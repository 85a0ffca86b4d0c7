//! `/metrics`: every request counted by its route template (never its raw path), method and
//! status, and as the reference's exporter names it; the stores', artifact proxy's and OTLP
//! receiver's figures; served to anyone signed in when authentication is on.
//!
//! The registry is one per process and tests run in parallel, so counts are checked as lower
//! bounds or as increases.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use keel_auth::Permission;
use keel_auth::entities::AccountKind;

use crate::support::{TestApp, basic};
use crate::traces::{export, export_body, span};

async fn scrape(app: &TestApp) -> String {
    let raw = app.raw(Method::GET, "/metrics", Body::empty(), None).await;
    assert_eq!(raw.status, StatusCode::OK);
    assert_eq!(
        raw.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    String::from_utf8(raw.body).expect("utf-8")
}

/// The value of the sample `series` (its name and labels exactly), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.parse().expect("number"))
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_as_the_reference_counts_them() {
    let app = TestApp::new().await;
    let route = "keel_http_requests_total{route=\"/api/2.0/mlflow/experiments/create\",method=\"POST\",status=\"200\"}";
    let reference = "mlflow_http_request_total{method=\"POST\",status=\"200\"}";
    let before = scrape(&app).await;
    app.create_experiment("counted-1").await;
    app.create_experiment("counted-2").await;
    let secret_path = "/nothing-here-6f1e2d3c";
    let (status, _) = app.get(secret_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get("/health").await;
    assert_eq!(status, StatusCode::OK);
    let after = scrape(&app).await;
    assert!(
        sample(&after, route) >= sample(&before, route) + 2.0,
        "{after}"
    );
    assert!(sample(&after, reference) >= sample(&before, reference) + 2.0);
    // A path no route serves is counted as `unmatched`: raw paths never become labels (their
    // values are unbounded).
    assert!(!after.contains("6f1e2d3c"), "{after}");
    assert!(
        sample(
            &after,
            "keel_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"
        ) >= 1.0
    );
    // Keel counts /health; the reference's metrics leave it out, and nobody counts /metrics.
    assert!(
        sample(
            &after,
            "keel_http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"}"
        ) >= 1.0
    );
    assert!(
        !after.contains("route=\"/metrics\""),
        "scrapes are not counted"
    );
    for name in [
        "# TYPE keel_http_request_duration_seconds histogram",
        "# TYPE mlflow_http_request_duration_seconds histogram",
        "keel_build_info{version=\"",
        "keel_db_pool_connections{backend=\"sqlite\",state=\"idle\"}",
        "keel_db_pool_max_connections{backend=\"sqlite\"}",
        "keel_sqlite_commit_jobs_count ",
        "keel_sqlite_writer_queue_depth ",
    ] {
        assert!(after.contains(name), "missing {name} in\n{after}");
    }
    assert!(
        after.contains(
            "mlflow_http_request_duration_seconds_bucket{method=\"POST\",mlflow_version=\""
        )
    );
}

#[tokio::test]
async fn artifact_bytes_and_ingested_spans_are_counted() {
    let app = TestApp::new().await;
    let bytes_in = "keel_artifact_bytes_total{direction=\"in\"}";
    let bytes_out = "keel_artifact_bytes_total{direction=\"out\"}";
    let spans = "keel_otlp_spans_ingested_total";
    let before = scrape(&app).await;
    let path = "/api/2.0/mlflow-artifacts/artifacts/metrics-test/blob.bin";
    let put = app
        .raw(
            Method::PUT,
            path,
            vec![7u8; 5000],
            Some("application/octet-stream"),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK);
    let got = app.raw(Method::GET, path, Body::empty(), None).await;
    assert_eq!(got.body.len(), 5000);
    let exp = app.create_experiment("metrics-spans").await;
    let body = export_body(vec![
        span(1, None, "root", vec![]),
        span(2, Some(1), "child", vec![]),
    ]);
    let sent = export(&app, Some(&exp), body, "application/x-protobuf", None).await;
    assert_eq!(sent.status, StatusCode::OK);
    let after = scrape(&app).await;
    assert!(sample(&after, bytes_in) >= sample(&before, bytes_in) + 5000.0);
    assert!(sample(&after, bytes_out) >= sample(&before, bytes_out) + 5000.0);
    assert!(sample(&after, spans) >= sample(&before, spans) + 2.0);
}

#[tokio::test]
async fn with_authentication_on_only_signed_in_callers_read_the_metrics() {
    let app = TestApp::secured(Permission::NoPermissions, None).await;
    app.auth
        .create_user(
            "scraper",
            Some("scraper-password-1"),
            false,
            AccountKind::User,
        )
        .await
        .expect("user");
    let anonymous = app
        .send(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(!String::from_utf8_lossy(&anonymous.body).contains("keel_http"));
    let wrong = app
        .call_as(
            &basic("scraper", "wrong-password"),
            Method::GET,
            "/metrics",
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let signed_in = app
        .call_as(
            &basic("scraper", "scraper-password-1"),
            Method::GET,
            "/metrics",
            None,
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::OK);
    assert!(
        String::from_utf8_lossy(&signed_in.body)
            .contains("# TYPE keel_http_requests_total counter")
    );
    // Writing to it is no route at all.
    let post = app
        .call_as(
            &basic("scraper", "scraper-password-1"),
            Method::POST,
            "/metrics",
            None,
        )
        .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
}
