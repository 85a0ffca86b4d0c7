//! Handlers of MLflow's deprecated v2 trace routes that older clients fall back to: start a
//! trace, end it, and read its info (the v2 search is in `trace_search`).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};

use super::traces::trace_id;
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::traces_v2::{EndTraceV2In, StartTraceV2In, TraceInfoV2Out};

/// `POST /api/2.0/mlflow/traces` (StartTrace): a new trace in progress, with a 32-hex-digit ID.
pub async fn start(
    State(s): State<AppState>,
    req: MlflowRequest<StartTraceV2In>,
) -> ApiResult<Json<TraceInfoV2Out>> {
    let info = s.traces.start_trace_v2(req.message.into_domain()?).await?;
    Ok(Json(TraceInfoV2Out {
        trace_info: info.into(),
    }))
}

/// `PATCH /api/2.0/mlflow/traces/{request_id}` (EndTrace): the trace's end time, status, and
/// metadata and tags merged into what it has.
pub async fn end(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    req: MlflowRequest<EndTraceV2In>,
) -> ApiResult<Json<TraceInfoV2Out>> {
    let id = trace_id(path)?;
    let info = s
        .traces
        .end_trace_v2(&id, req.message.into_domain()?)
        .await?;
    Ok(Json(TraceInfoV2Out {
        trace_info: info.into(),
    }))
}

/// `GET /api/2.0/mlflow/traces/{request_id}/info` (GetTraceInfo).
pub async fn get_info(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<TraceInfoV2Out>> {
    let info = s.traces.get_trace_info(&trace_id(path)?).await?;
    Ok(Json(TraceInfoV2Out {
        trace_info: info.into(),
    }))
}
