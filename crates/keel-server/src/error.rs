//! The one table from domain error codes to HTTP statuses, and the JSON error response.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keel_core::{Error, ErrorCode};
use serde::Serialize;

/// The HTTP status the reference MLflow server uses for each error code.
pub fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidParameterValue
        | ErrorCode::ResourceAlreadyExists
        | ErrorCode::InvalidState
        | ErrorCode::FeatureDisabled
        | ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::ResourceDoesNotExist | ErrorCode::EndpointNotFound => StatusCode::NOT_FOUND,
        ErrorCode::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::RequestLimitExceeded => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A domain error on its way to the client as `{"error_code": ..., "message": ...}`.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: &'static str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_for(self.0.code);
        let code = self.0.code;
        let message = shown_message(self.0);
        let body = ErrorBody {
            error_code: code.as_str(),
            message: &message,
        };
        let mut response = (status, Json(body)).into_response();
        // For the audit log's entry of the request.
        response.extensions_mut().insert(code);
        response
    }
}

/// The message a client is shown for `e`. An internal error's message may hold what the client
/// must not see (a database's error text, a path): it goes to the log under a reference the
/// client is given. Every server-side failure is logged.
pub fn shown_message(e: Error) -> String {
    let reference = (e.code == ErrorCode::InternalError).then(keel_core::names::new_uuid);
    if status_for(e.code).is_server_error() {
        tracing::error!(code = e.code.as_str(), message = %e.message, reference = ?reference, "request failed");
    }
    match reference {
        Some(reference) => format!(
            "The server hit an internal error; its log has the details under reference \
             {reference}."
        ),
        None => e.message,
    }
}

/// Result type of every handler.
pub type ApiResult<T> = Result<T, ApiError>;
