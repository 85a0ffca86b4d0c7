//! Server endpoints that are not part of a domain: health, version, server-info, fallbacks.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use keel_core::{Error, ErrorCode};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// The MLflow release whose REST API Keel serves.
pub const MLFLOW_COMPAT_VERSION: &str = "3.17.2";

pub async fn health() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "OK").into_response()
}

/// Returns the MLflow version Keel is compatible with, as the reference does; Keel's own
/// version is in the `x-keel-version` header.
pub async fn version() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                HeaderName::from_static("x-keel-version"),
                HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
            ),
        ],
        MLFLOW_COMPAT_VERSION,
    )
        .into_response()
}

/// What the client asks before using optional features. Multipart upload works on every
/// artifact store (parts come back to Keel itself), so it is always advertised; the client then
/// uses it for files of at least `MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE`. Multipart download
/// needs signed URLs, which only an S3 store gives.
pub async fn server_info(State(s): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "store_type": "SqlStore",
        "workspaces_enabled": s.workspaces.enabled(),
        "trace_archival_enabled": false,
        "multipart_uploads_enabled": true,
        // The client then asks for a signed URL before each download and reads the bucket
        // directly, in ranges (as with the reference on S3).
        "multipart_downloads_enabled": s.serve_mode.serve_artifacts && s.artifacts.signs_urls(),
        "presigned_upload_run_id_supported": true,
        "presigned_upload_model_id_supported": true,
        // The web UI shows its gateway pages when the gateway is on (it always is).
        "features_enabled": {"gateway": true},
        "keel_version": env!("CARGO_PKG_VERSION"),
    }))
}

/// `GET /api/openapi.json`: the OpenAPI 3.1 description of every route.
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document(),
    )
        .into_response()
}

pub async fn not_found(uri: Uri) -> ApiError {
    ApiError(Error::new(
        ErrorCode::EndpointNotFound,
        format!("No API endpoint at path '{}'.", uri.path()),
    ))
}

pub async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> impl IntoResponse {
    let body = json!({
        "error_code": ErrorCode::BadRequest.as_str(),
        "message": format!("Method {method} is not allowed for path '{}'.", uri.path()),
    });
    (StatusCode::METHOD_NOT_ALLOWED, Json(body))
}
