//! Handlers of the run and metric routes.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use keel_core::tracking::MetricHistory;
use keel_core::validation::MAX_BATCH_LOG_REQUEST_SIZE;
use keel_core::{Error, ModelInput, ModelOutput};
use serde::Serialize;

use super::{Empty, empty};
use crate::authz::Caller;
use crate::authz::searchable::retain_readable;
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::entities::{Metric, MetricWithRunId, Run, RunInfo};
use crate::wire::requests::*;
use crate::workspace::ActiveWorkspace;
use keel_auth::grants::GrantType;

#[derive(Serialize, schemars::JsonSchema)]
pub struct RunOut {
    pub(crate) run: Run,
}

pub async fn create(
    State(s): State<AppState>,
    req: MlflowRequest<CreateRunIn>,
) -> ApiResult<Json<RunOut>> {
    let run = s.tracking.create_run(req.message.into_domain()?).await?;
    Ok(Json(RunOut { run: run.into() }))
}

pub async fn get(
    State(s): State<AppState>,
    req: MlflowRequest<RunIdIn>,
) -> ApiResult<Json<RunOut>> {
    let run = s.tracking.get_run(&req.message.get()?).await?;
    Ok(Json(RunOut { run: run.into() }))
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct UpdateOut {
    run_info: RunInfo,
}

pub async fn update(
    State(s): State<AppState>,
    req: MlflowRequest<UpdateRunIn>,
) -> ApiResult<Json<UpdateOut>> {
    let status = req.message.status()?;
    let m = req.message;
    let run_id = pick_run_id(m.run_id, m.run_uuid)?;
    let info = s
        .tracking
        .update_run(&run_id, status, m.end_time, m.run_name)
        .await?;
    Ok(Json(UpdateOut {
        run_info: info.into(),
    }))
}

pub async fn delete(
    State(s): State<AppState>,
    req: MlflowRequest<RunIdIn>,
) -> ApiResult<Json<Empty>> {
    s.tracking.delete_run(&req.message.get()?).await?;
    Ok(empty())
}

pub async fn restore(
    State(s): State<AppState>,
    req: MlflowRequest<RunIdIn>,
) -> ApiResult<Json<Empty>> {
    s.tracking.restore_run(&req.message.get()?).await?;
    Ok(empty())
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct SearchOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    runs: Vec<Run>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

pub async fn search(
    State(s): State<AppState>,
    caller: Caller,
    workspace: ActiveWorkspace,
    req: MlflowRequest<SearchRunsIn>,
) -> ApiResult<Json<SearchOut>> {
    let page = search_readable(&s, &caller, &workspace, req.message).await?;
    Ok(Json(SearchOut {
        runs: page.items.into_iter().map(Run::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// A run search over the experiments the caller may read (`runs/search` and GraphQL's
/// `mlflowSearchRuns`).
pub(crate) async fn search_readable(
    s: &AppState,
    caller: &Caller,
    workspace: &ActiveWorkspace,
    request: SearchRunsIn,
) -> Result<keel_core::Page<keel_core::Run>, Error> {
    let mut search = request.into_domain()?;
    // As the reference: experiments the caller may not read are dropped from the search (and
    // a type-wide DENY on runs drops them all), so the result may be empty; those of another
    // workspace are left out by the query.
    retain_readable(
        s,
        caller,
        workspace,
        GrantType::Run,
        false,
        &mut search.experiment_ids,
    )
    .await?;
    if s.workspaces.enabled() {
        search.workspace = Some(workspace.name().to_owned());
    }
    s.tracking.search_runs(search).await
}

pub async fn log_metric(
    State(s): State<AppState>,
    req: MlflowRequest<MetricIn>,
) -> ApiResult<Json<Empty>> {
    let (run_id, metric) = req.message.into_run_and_metric()?;
    s.tracking.log_metric(&run_id, metric).await?;
    Ok(empty())
}

pub async fn log_param(
    State(s): State<AppState>,
    req: MlflowRequest<RunKeyValueIn>,
) -> ApiResult<Json<Empty>> {
    let (run_id, key, value) = req.message.into_parts()?;
    s.tracking
        .log_param(&run_id, keel_core::Param { key, value })
        .await?;
    Ok(empty())
}

pub async fn set_tag(
    State(s): State<AppState>,
    req: MlflowRequest<RunKeyValueIn>,
) -> ApiResult<Json<Empty>> {
    let (run_id, key, value) = req.message.into_parts()?;
    s.tracking
        .set_tag(&run_id, keel_core::Tag { key, value })
        .await?;
    Ok(empty())
}

pub async fn delete_tag(
    State(s): State<AppState>,
    req: MlflowRequest<DeleteTagIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    s.tracking
        .delete_tag(&need("run_id", m.run_id)?, &need("key", m.key)?)
        .await?;
    Ok(empty())
}

pub async fn log_batch(
    State(s): State<AppState>,
    req: MlflowRequest<LogBatchIn>,
) -> ApiResult<Json<Empty>> {
    if req.body_len > MAX_BATCH_LOG_REQUEST_SIZE {
        return Err(Error::invalid(format!(
            "Batched logging API requests must be at most {MAX_BATCH_LOG_REQUEST_SIZE} bytes, got \
             payload of size {}.",
            req.body_len
        ))
        .into());
    }
    let m = req.message;
    let metrics = indexed(m.metrics, "metrics", MetricIn::into_domain)?;
    let params = indexed(m.params, "params", ParamIn::into_domain)?;
    let tags = indexed(m.tags, "tags", TagIn::into_tag)?;
    s.tracking
        .log_batch(&need("run_id", m.run_id)?, metrics, params, tags)
        .await?;
    Ok(empty())
}

/// Converts each item, naming `field[i]` in the error of the first bad one.
fn indexed<I, O>(
    items: Vec<I>,
    field: &str,
    convert: impl Fn(I) -> keel_core::Result<O>,
) -> keel_core::Result<Vec<O>> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            convert(item).map_err(|e| {
                Error::new(
                    e.code,
                    e.message
                        .replacen("parameter '", &format!("parameter '{field}[{i}]."), 1),
                )
            })
        })
        .collect()
}

pub async fn log_inputs(
    State(s): State<AppState>,
    req: MlflowRequest<LogInputsIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let datasets = indexed(m.datasets, "datasets", DatasetInputIn::into_domain)?;
    let models = m
        .models
        .into_iter()
        .map(|x| {
            Ok(ModelInput {
                model_id: need("models.model_id", x.model_id)?,
            })
        })
        .collect::<keel_core::Result<Vec<_>>>()?;
    s.tracking
        .log_inputs(&need("run_id", m.run_id)?, datasets, models)
        .await?;
    Ok(empty())
}

pub async fn log_outputs(
    State(s): State<AppState>,
    req: MlflowRequest<LogOutputsIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let models = m
        .models
        .into_iter()
        .map(|x| {
            Ok(ModelOutput {
                model_id: need("models.model_id", x.model_id)?,
                step: x.step.unwrap_or(0),
            })
        })
        .collect::<keel_core::Result<Vec<_>>>()?;
    s.tracking
        .log_outputs(&need("run_id", m.run_id)?, models)
        .await?;
    Ok(empty())
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct HistoryOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    metrics: Vec<Metric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// `metrics/get-history`: one page, or a whole history (no `max_results`) streamed as it is
/// read when it is longer than a page.
pub async fn metric_history(
    State(s): State<AppState>,
    req: MlflowRequest<GetHistoryIn>,
) -> ApiResult<Response> {
    match s
        .tracking
        .metric_history(req.message.into_domain()?)
        .await?
    {
        MetricHistory::Page(page) => Ok(Json(HistoryOut {
            metrics: page.items.into_iter().map(Metric::from).collect(),
            next_page_token: page.next_page_token,
        })
        .into_response()),
        MetricHistory::Whole(reader) => Ok(super::stream::json_array(
            "{\"metrics\":[".to_owned(),
            reader,
            |point, out| {
                // Rendering a JSON value into memory cannot fail.
                let _ = serde_json::to_writer(out, &Metric::from(point));
            },
            "]}",
        )),
    }
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct IntervalOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    metrics: Vec<MetricWithRunId>,
}

/// `GET /ajax-api/2.0/mlflow/metrics/get-history-bulk`: a metric's points over several runs.
/// The reply always carries `metrics` (an empty list too), as the reference's does.
pub async fn metric_history_bulk(
    State(s): State<AppState>,
    req: MlflowRequest<GetHistoryBulkIn>,
) -> ApiResult<Json<BulkOut>> {
    let points = s
        .tracking
        .metric_history_bulk(req.message.into_domain())
        .await?;
    Ok(Json(BulkOut {
        metrics: points.into_iter().map(MetricWithRunId::from).collect(),
    }))
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct BulkOut {
    metrics: Vec<MetricWithRunId>,
}

pub async fn metric_history_interval(
    State(s): State<AppState>,
    req: MlflowRequest<GetHistoryIntervalIn>,
) -> ApiResult<Json<IntervalOut>> {
    let points = s
        .tracking
        .metric_history_interval(req.message.into_domain()?)
        .await?;
    Ok(Json(IntervalOut {
        metrics: points.into_iter().map(MetricWithRunId::from).collect(),
    }))
}
