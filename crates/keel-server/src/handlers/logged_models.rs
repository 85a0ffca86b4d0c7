//! Handlers of the MLflow 3 logged-model routes (`/api/2.0/mlflow/logged-models...`) and of
//! `runs/log-model`.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use keel_artifacts::{ArtifactPath, proxied_path};
use keel_auth::grants::GrantType;
use keel_core::{Error, ErrorCode};
use serde::{Deserialize, Serialize};

use super::artifacts::{RunListOut, list_relative, serve_file};
use super::{Empty, empty};
use crate::authz::Caller;
use crate::authz::searchable::retain_readable;
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::logged_models::*;
use crate::wire::requests::need;
use crate::workspace::ActiveWorkspace;

/// The `{model_id}` segment of the route.
pub(crate) fn model_id(path: Result<Path<String>, PathRejection>) -> Result<String, Error> {
    let Path(id) = path.map_err(|e| Error::invalid(format!("Invalid logged model ID: {e}")))?;
    Ok(id)
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct ModelOut {
    model: LoggedModel,
}

fn model_out(model: keel_core::LoggedModel) -> Json<ModelOut> {
    Json(ModelOut {
        model: model.into(),
    })
}

pub async fn create(
    State(s): State<AppState>,
    req: MlflowRequest<CreateLoggedModelIn>,
) -> ApiResult<Json<ModelOut>> {
    let model = s
        .tracking
        .create_logged_model(req.message.into_domain()?)
        .await?;
    Ok(model_out(model))
}

pub async fn get(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    req: MlflowRequest<GetLoggedModelIn>,
) -> ApiResult<Json<ModelOut>> {
    let model = s
        .tracking
        .get_logged_model(&model_id(path)?, req.message.allow_deleted())
        .await?;
    Ok(model_out(model))
}

pub async fn finalize(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    req: MlflowRequest<FinalizeLoggedModelIn>,
) -> ApiResult<Json<ModelOut>> {
    let model = s
        .tracking
        .finalize_logged_model(&model_id(path)?, req.message.status()?)
        .await?;
    Ok(model_out(model))
}

pub async fn delete(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Empty>> {
    s.tracking.delete_logged_model(&model_id(path)?).await?;
    Ok(empty())
}

pub async fn set_tags(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    req: MlflowRequest<LoggedModelTagsIn>,
) -> ApiResult<Json<ModelOut>> {
    let id = model_id(path)?;
    s.tracking
        .set_logged_model_tags(&id, req.message.into_domain()?)
        .await?;
    Ok(model_out(s.tracking.get_logged_model(&id, false).await?))
}

pub async fn delete_tag(
    State(s): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Json<Empty>> {
    let Path((id, key)) =
        path.map_err(|e| Error::invalid(format!("Invalid logged model tag path: {e}")))?;
    s.tracking.delete_logged_model_tag(&id, &key).await?;
    Ok(empty())
}

pub async fn log_params(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    req: MlflowRequest<LoggedModelParamsIn>,
) -> ApiResult<Json<Empty>> {
    s.tracking
        .log_logged_model_params(&model_id(path)?, req.message.into_domain()?)
        .await?;
    Ok(empty())
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct SearchOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    models: Vec<LoggedModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

pub async fn search(
    State(s): State<AppState>,
    caller: Caller,
    workspace: ActiveWorkspace,
    req: MlflowRequest<SearchLoggedModelsIn>,
) -> ApiResult<Json<SearchOut>> {
    let mut search = req.message.into_domain()?;
    retain_readable(
        &s,
        &caller,
        &workspace,
        GrantType::LoggedModel,
        true,
        &mut search.experiment_ids,
    )
    .await?;
    let page = s.tracking.search_logged_models(search).await?;
    Ok(Json(SearchOut {
        models: page.items.into_iter().map(LoggedModel::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// A model's artifact root URI and the store path of `relative` under it.
async fn model_artifact(
    s: &AppState,
    model_id: &str,
    relative: &ArtifactPath,
) -> Result<(String, ArtifactPath), Error> {
    let model = s.tracking.get_logged_model(model_id, false).await?;
    let path = proxied_path(&model.artifact_location)?.join(relative);
    Ok((model.artifact_location, path))
}

/// `logged-models/{id}/artifacts/directories`: a folder of the model's artifacts, entries named
/// relative to the model's artifact root.
pub async fn list_artifacts(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    req: MlflowRequest<ListLoggedModelArtifactsIn>,
) -> ApiResult<Json<RunListOut>> {
    let relative =
        ArtifactPath::parse(req.message.artifact_directory_path.as_deref().unwrap_or(""))?;
    let (root_uri, listed) = model_artifact(&s, &model_id(path)?, &relative).await?;
    Ok(Json(list_relative(&s, root_uri, &listed, &relative).await?))
}

/// `GET /ajax-api/2.0/mlflow/logged-models/{id}/artifacts/files?artifact_file_path=`: one file
/// of the model's artifacts (used by the web UI).
pub async fn get_artifact(
    State(s): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    req: MlflowRequest<LoggedModelArtifactFileIn>,
) -> ApiResult<Response> {
    let Some(file) = req.message.artifact_file_path.filter(|p| !p.is_empty()) else {
        return Err(Error::new(
            ErrorCode::BadRequest,
            "Request must include the \"artifact_file_path\" query parameter.",
        )
        .into());
    };
    let (_, file) = model_artifact(&s, &model_id(path)?, &ArtifactPath::parse(&file)?).await?;
    serve_file(&s, &file, &headers).await
}

#[derive(Debug, Deserialize, Default, schemars::JsonSchema)]
pub struct LogModelIn {
    pub run_id: Option<String>,
    pub model_json: Option<String>,
}

/// `runs/log-model`: records a model in the run's `mlflow.log-model.history` tag.
pub async fn record(
    State(s): State<AppState>,
    req: MlflowRequest<LogModelIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    s.tracking
        .record_logged_model(
            &need("run_id", m.run_id)?,
            &need("model_json", m.model_json)?,
        )
        .await?;
    Ok(empty())
}
