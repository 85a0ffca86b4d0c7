//! Prometheus metrics over HTTP: the step of the pipeline that counts each request by route
//! template, method and status (and as the reference server's exporter counts it), and the
//! `/metrics` route that serves every metric of the process. Both are on only when the operator
//! asks (`--expose-prometheus`, or `metrics = true`), as on the reference server.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use keel_core::{Error, ErrorCode};

use crate::error::ApiError;
use crate::handlers::meta::MLFLOW_COMPAT_VERSION;
use crate::state::AppState;

/// Where the metrics are served.
pub const METRICS_PATH: &str = "/metrics";

/// Paths the reference's exporter leaves out of its `mlflow_http_*` metrics (prefixes, as its
/// `excluded_paths` patterns match), and its own `/metrics`.
const NOT_COUNTED_AS_REFERENCE: [&str; 3] = ["/health", "/version", METRICS_PATH];

/// Counts the request once its response's head is ready (a handler that panics is counted as a
/// 500 and an exception, then the panic goes on to the layer that answers it).
pub async fn record(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let as_reference = !NOT_COUNTED_AS_REFERENCE
        .iter()
        .any(|p| req.uri().path().starts_with(p));
    let outcome = AssertUnwindSafe(next.run(req)).catch_unwind().await;
    let status = outcome.as_ref().map_or(500, |r| r.status().as_u16());
    let elapsed = start.elapsed();
    let http = &keel_metrics::global().http;
    let route = route.as_ref().map(MatchedPath::as_str);
    if route != Some(METRICS_PATH) {
        http.record(route, method.as_str(), status, elapsed);
    }
    if as_reference {
        http.record_as_reference(method.as_str(), status, elapsed, MLFLOW_COMPAT_VERSION);
        if outcome.is_err() {
            http.record_exception(method.as_str());
        }
    }
    match outcome {
        Ok(response) => response,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// `GET /metrics`: every metric in the Prometheus text format.
pub async fn serve(State(s): State<AppState>) -> Response {
    if !s.expose_metrics {
        return ApiError(Error::new(
            ErrorCode::EndpointNotFound,
            "Metrics are not exposed: start the server with --expose-prometheus (or set \
             metrics = true) to serve them at /metrics.",
        ))
        .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(keel_metrics::CONTENT_TYPE),
        )],
        keel_metrics::global().render(),
    )
        .into_response()
}
