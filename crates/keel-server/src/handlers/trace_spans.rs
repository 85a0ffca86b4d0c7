//! Keel's Ajax-only span endpoints for the web UI: a trace's span skeleton (no span content) and
//! one whole span, so a trace of tens of thousands of spans opens without downloading them all.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use keel_core::Error;

use crate::error::ApiResult;
use crate::handlers::traces::trace_id;
use crate::state::AppState;
use crate::wire::trace_spans::{SpanOut, SpanSkeletonOut};

/// `GET /ajax-api/3.0/mlflow/traces/{trace_id}/spans`: every stored span's outline, in read
/// order; a trace still receiving spans answers with what is stored.
pub async fn skeleton(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<SpanSkeletonOut>> {
    let skeleton = s.traces.span_skeleton(&trace_id(path)?).await?;
    Ok(Json(SpanSkeletonOut::from(skeleton)))
}

/// `GET /ajax-api/3.0/mlflow/traces/{trace_id}/spans/{span_id}`: one span with its attributes
/// and events, exactly as `traces/get` lists it.
pub async fn span(
    State(s): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Json<SpanOut>> {
    let Path((trace_id, span_id)) =
        path.map_err(|e| Error::invalid(format!("Invalid trace or span ID: {e}")))?;
    let span = s.traces.get_span(&trace_id, &span_id).await?;
    Ok(Json(SpanOut::from(&span)))
}
