//! Handlers of trace search: `POST /api/3.0/mlflow/traces/search` (SearchTracesV3), the v2
//! `GET /api/2.0/mlflow/traces` the client falls back to, the correlation of two searches
//! (`traces/calculate-filter-correlation`) and the trace metrics (`traces/metrics`).

use axum::Json;
use axum::extract::State;
use keel_auth::grants::GrantType;
use keel_core::traces::{SearchTraces, TraceInfo};
use keel_core::{Error, Page};

use super::traces::with_assessments;
use crate::authz::Caller;
use crate::authz::searchable::retain_readable;
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::trace_analytics::{
    FilterCorrelationIn, FilterCorrelationOut, QueryTraceMetricsIn, QueryTraceMetricsOut,
};
use crate::wire::traces::{SearchTracesV3In, SearchTracesV3Out};
use crate::wire::traces_v2::{SearchTracesV2In, SearchTracesV2Out, TraceInfoV2};
use crate::workspace::ActiveWorkspace;

/// `POST /api/3.0/mlflow/traces/search`: a page of trace infos, with their assessments.
pub async fn search_v3(
    State(s): State<AppState>,
    caller: Caller,
    workspace: ActiveWorkspace,
    req: MlflowRequest<SearchTracesV3In>,
) -> ApiResult<Json<SearchTracesV3Out>> {
    let page = search(&s, &caller, &workspace, req.message.into_domain()?).await?;
    Ok(Json(SearchTracesV3Out {
        traces: with_assessments(&s, page.items).await?,
        next_page_token: page.next_page_token,
    }))
}

/// `POST /api/3.0/mlflow/traces/metrics`: counts, latency, token usage, costs and assessment
/// values of the experiments' traces, spans or assessments, by time bucket and dimension.
pub async fn metrics(
    State(s): State<AppState>,
    req: MlflowRequest<QueryTraceMetricsIn>,
) -> ApiResult<Json<QueryTraceMetricsOut>> {
    let (query, rows) = s.traces.query_metrics(req.message.into_domain()?).await?;
    Ok(Json(QueryTraceMetricsOut::of(&query, rows)))
}

/// `POST /api/3.0/mlflow/traces/calculate-filter-correlation`: how strongly two filters
/// co-occur among the traces of the experiments (each of which the caller may read).
pub async fn filter_correlation(
    State(s): State<AppState>,
    req: MlflowRequest<FilterCorrelationIn>,
) -> ApiResult<Json<FilterCorrelationOut>> {
    let correlation = s
        .traces
        .filter_correlation(req.message.into_domain()?)
        .await?;
    Ok(Json(correlation.into()))
}

/// `GET /api/2.0/mlflow/traces`: the same search with v2 trace infos.
pub async fn search_v2(
    State(s): State<AppState>,
    caller: Caller,
    workspace: ActiveWorkspace,
    req: MlflowRequest<SearchTracesV2In>,
) -> ApiResult<Json<SearchTracesV2Out>> {
    let page = search(&s, &caller, &workspace, req.message.into_domain()?).await?;
    Ok(Json(SearchTracesV2Out {
        traces: page.items.into_iter().map(TraceInfoV2::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// The search over the experiments whose traces the caller may read.
async fn search(
    s: &AppState,
    caller: &Caller,
    workspace: &ActiveWorkspace,
    mut search: SearchTraces,
) -> Result<Page<TraceInfo>, Error> {
    retain_readable(
        s,
        caller,
        workspace,
        GrantType::Trace,
        true,
        &mut search.experiment_ids,
    )
    .await?;
    s.traces.search_traces(search).await
}
