//! Handlers of the routes that change a stored trace: tags, deletion, links to runs and prompts,
//! and assessments.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use keel_core::Error;
use keel_core::traces::parse_trace_id;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::traces::trace_id;
use super::{Empty, empty};
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::assessments::{AssessmentIn, assessment_json, mask_paths};
use crate::wire::proto::{opt_i64, opt_string};
use crate::wire::requests::need;

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct TraceTagIn {
    #[serde(default, deserialize_with = "opt_string")]
    key: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    value: Option<String>,
}

/// `PATCH traces/{trace_id}/tags` (SetTraceTag, v2 and v3).
pub async fn set_tag(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    req: MlflowRequest<TraceTagIn>,
) -> ApiResult<Json<Empty>> {
    let key = need("key", req.message.key)?;
    let value = req.message.value.unwrap_or_default();
    s.traces
        .set_trace_tag(&trace_id(path)?, &key, &value)
        .await?;
    Ok(empty())
}

/// `DELETE traces/{trace_id}/tags` (DeleteTraceTag, v2 and v3; the key in the body or query).
pub async fn delete_tag(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    req: MlflowRequest<TraceTagIn>,
) -> ApiResult<Json<Empty>> {
    let key = need("key", req.message.key)?;
    s.traces.delete_trace_tag(&trace_id(path)?, &key).await?;
    Ok(empty())
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct DeleteTracesIn {
    #[serde(default, deserialize_with = "opt_string")]
    experiment_id: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    max_timestamp_millis: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    max_traces: Option<i64>,
    #[serde(default)]
    request_ids: Vec<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DeleteTracesOut {
    traces_deleted: u64,
}

/// `POST traces/delete-traces`: the named traces of an experiment, or its oldest ones.
pub async fn delete_traces(
    State(s): State<AppState>,
    req: MlflowRequest<DeleteTracesIn>,
) -> ApiResult<Json<DeleteTracesOut>> {
    let m = req.message;
    let deleted = s
        .traces
        .delete_traces(
            &m.experiment_id.unwrap_or_default(),
            m.max_timestamp_millis,
            m.max_traces,
            &m.request_ids,
        )
        .await?;
    Ok(Json(DeleteTracesOut {
        traces_deleted: deleted,
    }))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct LinkToRunIn {
    #[serde(default)]
    trace_ids: Vec<String>,
    #[serde(default, deserialize_with = "opt_string")]
    run_id: Option<String>,
}

/// `POST traces/link-to-run`.
pub async fn link_to_run(
    State(s): State<AppState>,
    req: MlflowRequest<LinkToRunIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    s.traces
        .link_traces_to_run(&m.trace_ids, &m.run_id.unwrap_or_default())
        .await?;
    Ok(empty())
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct PromptVersionIn {
    #[serde(default, deserialize_with = "opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    version: Option<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct LinkPromptsIn {
    #[serde(default, deserialize_with = "opt_string")]
    trace_id: Option<String>,
    #[serde(default)]
    prompt_versions: Vec<PromptVersionIn>,
}

/// `POST traces/link-prompts`: the prompt versions a trace used.
pub async fn link_prompts(
    State(s): State<AppState>,
    req: MlflowRequest<LinkPromptsIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let prompts: Vec<(String, String)> = m
        .prompt_versions
        .into_iter()
        .map(|p| (p.name.unwrap_or_default(), p.version.unwrap_or_default()))
        .collect();
    let trace = need("trace_id", m.trace_id)?;
    s.traces.link_prompts_to_trace(&trace, &prompts).await?;
    Ok(empty())
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct CreateAssessmentIn {
    #[serde(default)]
    assessment: Option<AssessmentIn>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AssessmentOut {
    assessment: Value,
}

/// `POST traces/{trace_id}/assessments`.
pub async fn create_assessment(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    req: MlflowRequest<CreateAssessmentIn>,
) -> ApiResult<Json<AssessmentOut>> {
    let trace = parse_trace_id(&trace_id(path)?)?;
    let assessment = need("assessment", req.message.assessment)?.into_new(trace)?;
    let created = s.traces.create_assessment(assessment).await?;
    Ok(Json(AssessmentOut {
        assessment: assessment_json(&created),
    }))
}

fn ids(path: Result<Path<(String, String)>, PathRejection>) -> Result<(String, String), Error> {
    let Path(ids) =
        path.map_err(|e| Error::invalid(format!("Invalid trace or assessment ID: {e}")))?;
    Ok(ids)
}

/// `GET traces/{trace_id}/assessments/{assessment_id}`.
pub async fn get_assessment(
    State(s): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Json<AssessmentOut>> {
    let (trace, assessment) = ids(path)?;
    let found = s.traces.get_assessment(&trace, &assessment).await?;
    Ok(Json(AssessmentOut {
        assessment: assessment_json(&found),
    }))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UpdateAssessmentIn {
    #[serde(default)]
    assessment: Option<AssessmentIn>,
    #[serde(default)]
    update_mask: Option<Value>,
}

/// `PATCH traces/{trace_id}/assessments/{assessment_id}`: the fields the update mask names.
pub async fn update_assessment(
    State(s): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    req: MlflowRequest<UpdateAssessmentIn>,
) -> ApiResult<Json<AssessmentOut>> {
    let (trace, assessment) = ids(path)?;
    // The reference names `assessment` before `update_mask`.
    let given = need("assessment", req.message.assessment)?;
    let mask = mask_paths(req.message.update_mask.as_ref())?;
    let update = given.into_update(&mask)?;
    let updated = s
        .traces
        .update_assessment(&trace, &assessment, update)
        .await?;
    Ok(Json(AssessmentOut {
        assessment: assessment_json(&updated),
    }))
}

/// `DELETE traces/{trace_id}/assessments/{assessment_id}`.
pub async fn delete_assessment(
    State(s): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Json<Empty>> {
    let (trace, assessment) = ids(path)?;
    s.traces.delete_assessment(&trace, &assessment).await?;
    Ok(empty())
}
