//! Handlers of the experiment routes.

use axum::Json;
use axum::extract::State;
use keel_core::Tag;
use serde::Serialize;

use super::{Empty, empty};
use crate::authz::Caller;
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::entities::{DatasetSummary, Experiment};
use crate::wire::requests::*;
use crate::workspace::ActiveWorkspace;

#[derive(Serialize, schemars::JsonSchema)]
pub struct CreateOut {
    experiment_id: String,
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    workspace: ActiveWorkspace,
    req: MlflowRequest<CreateExperimentIn>,
) -> ApiResult<Json<CreateOut>> {
    let create = req.message.into_domain(&workspace.0)?;
    if s.workspaces.enabled()
        && create
            .artifact_location
            .as_ref()
            .is_some_and(|l| !l.is_empty())
    {
        // Each workspace keeps its artifacts under its own root.
        return Err(keel_core::Error::invalid(
            "artifact_location cannot be specified when workspaces are enabled",
        )
        .into());
    }
    let experiment_id = s.tracking.create_experiment(create).await?;
    // The creator manages what they create.
    s.auth
        .grant_creator(
            &caller.0,
            keel_auth::grants::GrantType::Experiment,
            &experiment_id,
            workspace.name(),
        )
        .await?;
    Ok(Json(CreateOut { experiment_id }))
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct ExperimentOut {
    experiment: Experiment,
}

pub async fn get(
    State(s): State<AppState>,
    req: MlflowRequest<ExperimentIdIn>,
) -> ApiResult<Json<ExperimentOut>> {
    let id = need("experiment_id", req.message.experiment_id)?;
    let experiment = s.tracking.get_experiment(&id).await?.into();
    Ok(Json(ExperimentOut { experiment }))
}

pub async fn get_by_name(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<ExperimentNameIn>,
) -> ApiResult<Json<ExperimentOut>> {
    let name = need("experiment_name", req.message.experiment_name)?;
    let experiment = s
        .tracking
        .get_experiment_by_name(workspace.name(), &name)
        .await?
        .into();
    Ok(Json(ExperimentOut { experiment }))
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct SearchOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    experiments: Vec<Experiment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

pub async fn search(
    State(s): State<AppState>,
    caller: Caller,
    workspace: ActiveWorkspace,
    req: MlflowRequest<SearchExperimentsIn>,
) -> ApiResult<Json<SearchOut>> {
    let mut search = req.message.into_domain(workspace.name())?;
    // Only what the caller may read in the workspace, filtered in SQL.
    search.visible = s
        .auth
        .visibility(
            &caller.0,
            keel_auth::grants::GrantType::Experiment,
            workspace.name(),
        )
        .await?;
    let page = s.tracking.search_experiments(search).await?;
    Ok(Json(SearchOut {
        experiments: page.items.into_iter().map(Experiment::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

pub async fn update(
    State(s): State<AppState>,
    req: MlflowRequest<UpdateExperimentIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let id = need("experiment_id", m.experiment_id)?;
    let new_name = need("new_name", m.new_name)?;
    s.tracking.rename_experiment(&id, &new_name).await?;
    Ok(empty())
}

pub async fn delete(
    State(s): State<AppState>,
    req: MlflowRequest<ExperimentIdIn>,
) -> ApiResult<Json<Empty>> {
    s.tracking
        .delete_experiment(&need("experiment_id", req.message.experiment_id)?)
        .await?;
    Ok(empty())
}

pub async fn restore(
    State(s): State<AppState>,
    req: MlflowRequest<ExperimentIdIn>,
) -> ApiResult<Json<Empty>> {
    s.tracking
        .restore_experiment(&need("experiment_id", req.message.experiment_id)?)
        .await?;
    Ok(empty())
}

pub async fn set_tag(
    State(s): State<AppState>,
    req: MlflowRequest<ExperimentTagIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let id = need("experiment_id", m.experiment_id)?;
    let tag = Tag {
        key: need("key", m.key)?,
        value: m.value.unwrap_or_default(),
    };
    s.tracking.set_experiment_tag(&id, tag).await?;
    Ok(empty())
}

pub async fn delete_tag(
    State(s): State<AppState>,
    req: MlflowRequest<ExperimentTagIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let id = need("experiment_id", m.experiment_id)?;
    s.tracking
        .delete_experiment_tag(&id, &need("key", m.key)?)
        .await?;
    Ok(empty())
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct SearchDatasetsOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dataset_summaries: Vec<DatasetSummary>,
}

pub async fn search_datasets(
    State(s): State<AppState>,
    req: MlflowRequest<SearchDatasetsIn>,
) -> ApiResult<Json<SearchDatasetsOut>> {
    let ids = req
        .message
        .experiment_ids
        .into_iter()
        .map(|s| s.0)
        .collect();
    let found = s.tracking.search_datasets(ids).await?;
    Ok(Json(SearchDatasetsOut {
        dataset_summaries: found.into_iter().map(DatasetSummary::from).collect(),
    }))
}
