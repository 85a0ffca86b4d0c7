//! Handlers of the MLflow 3 logged-model routes (`/api/2.0/mlflow/logged-models...`) and of
//! `runs/log-model`.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use keel_core::Error;
use serde::{Deserialize, Serialize};

use super::{Empty, empty};
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::logged_models::*;
use crate::wire::requests::need;

/// The `{model_id}` segment of the route.
pub(crate) fn model_id(path: Result<Path<String>, PathRejection>) -> Result<String, Error> {
    let Path(id) = path.map_err(|e| Error::invalid(format!("Invalid logged model ID: {e}")))?;
    Ok(id)
}

#[derive(Serialize)]
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

#[derive(Serialize)]
pub struct SearchOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    models: Vec<LoggedModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

pub async fn search(
    State(s): State<AppState>,
    req: MlflowRequest<SearchLoggedModelsIn>,
) -> ApiResult<Json<SearchOut>> {
    let page = s
        .tracking
        .search_logged_models(req.message.into_domain()?)
        .await?;
    Ok(Json(SearchOut {
        models: page.items.into_iter().map(LoggedModel::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

#[derive(Debug, Deserialize, Default)]
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
