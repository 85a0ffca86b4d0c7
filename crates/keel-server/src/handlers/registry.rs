//! Handlers of the model registry routes (`registered-models/...`, `model-versions/...`) and of
//! `/model-versions/get-artifact`, the web UI's download of a version's files.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use keel_artifacts::{ArtifactPath, proxied_path};
use keel_core::{Error, ErrorCode};
use serde::Serialize;

use super::artifacts::serve_file;
use super::{Empty, empty};
use crate::authz::Caller;
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::registry::*;
use crate::workspace::ActiveWorkspace;
use crate::workspace::WorkspaceRegistry;

#[derive(Serialize, schemars::JsonSchema)]
pub struct RegisteredModelOut {
    registered_model: RegisteredModel,
}

fn model_out(m: keel_core::RegisteredModel) -> Json<RegisteredModelOut> {
    Json(RegisteredModelOut {
        registered_model: m.into(),
    })
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct ModelVersionOut {
    model_version: ModelVersion,
}

fn version_out(v: keel_core::ModelVersion) -> Json<ModelVersionOut> {
    Json(ModelVersionOut {
        model_version: v.into(),
    })
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct ModelVersionsOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    model_versions: Vec<ModelVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct RegisteredModelsOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    registered_models: Vec<RegisteredModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct DownloadUriOut {
    artifact_uri: String,
}

pub async fn create_model(
    State(s): State<AppState>,
    WorkspaceRegistry(registry): WorkspaceRegistry,
    caller: Caller,
    workspace: ActiveWorkspace,
    req: MlflowRequest<CreateRegisteredModelIn>,
) -> ApiResult<Json<RegisteredModelOut>> {
    let model = registry
        .create_registered_model(req.message.into_domain()?)
        .await?;
    // The creator manages what they create (a prompt is granted as a prompt).
    let prompt = model.tags.iter().any(|t| {
        t.key == keel_core::registry::IS_PROMPT_TAG && t.value.eq_ignore_ascii_case("true")
    });
    let kind = if prompt {
        keel_auth::grants::GrantType::Prompt
    } else {
        keel_auth::grants::GrantType::RegisteredModel
    };
    s.auth
        .grant_creator(&caller.0, kind, &model.name, workspace.name())
        .await?;
    Ok(model_out(model))
}

pub async fn get_model(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<NameIn>,
) -> ApiResult<Json<RegisteredModelOut>> {
    let name = required("name", req.message.name)?;
    Ok(model_out(registry.get_registered_model(&name).await?))
}

pub async fn rename_model(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<RenameRegisteredModelIn>,
) -> ApiResult<Json<RegisteredModelOut>> {
    let m = req.message;
    let (name, new_name) = (required("name", m.name)?, required("new_name", m.new_name)?);
    Ok(model_out(
        registry.rename_registered_model(&name, &new_name).await?,
    ))
}

pub async fn update_model(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<UpdateDescriptionIn>,
) -> ApiResult<Json<RegisteredModelOut>> {
    let m = req.message;
    let name = required("name", m.name)?;
    Ok(model_out(
        registry
            .update_registered_model(&name, m.description.as_deref())
            .await?,
    ))
}

pub async fn delete_model(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<NameIn>,
) -> ApiResult<Json<Empty>> {
    let name = required("name", req.message.name)?;
    registry.delete_registered_model(&name).await?;
    Ok(empty())
}

/// Which models and prompts the caller may read, for the searches to filter on in SQL.
async fn visible_models(
    s: &AppState,
    caller: &Caller,
    workspace: &ActiveWorkspace,
) -> ApiResult<keel_core::store::ModelVisibility> {
    use keel_auth::grants::GrantType;
    Ok(keel_core::store::ModelVisibility {
        models: s
            .auth
            .visibility(&caller.0, GrantType::RegisteredModel, workspace.name())
            .await?,
        prompts: s
            .auth
            .visibility(&caller.0, GrantType::Prompt, workspace.name())
            .await?,
    })
}

pub async fn search_models(
    State(s): State<AppState>,
    WorkspaceRegistry(registry): WorkspaceRegistry,
    caller: Caller,
    workspace: ActiveWorkspace,
    req: MlflowRequest<SearchIn>,
) -> ApiResult<Json<RegisteredModelsOut>> {
    let mut search = req.message.into_registered_models();
    search.visible = visible_models(&s, &caller, &workspace).await?;
    let page = registry.search_registered_models(search).await?;
    Ok(Json(RegisteredModelsOut {
        registered_models: page.items.into_iter().map(RegisteredModel::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

pub async fn latest_versions(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<LatestVersionsIn>,
) -> ApiResult<Json<ModelVersionsOut>> {
    let m = req.message;
    let name = required("name", m.name)?;
    let versions = registry.get_latest_versions(&name, &m.stages).await?;
    Ok(Json(ModelVersionsOut {
        model_versions: versions.into_iter().map(ModelVersion::from).collect(),
        next_page_token: None,
    }))
}

pub async fn set_model_tag(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<TagRequestIn>,
) -> ApiResult<Json<Empty>> {
    let mut m = req.message;
    let name = required("name", m.name.take())?;
    registry
        .set_registered_model_tag(&name, m.into_tag()?)
        .await?;
    Ok(empty())
}

pub async fn delete_model_tag(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<TagRequestIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let (name, key) = (required("name", m.name)?, required("key", m.key)?);
    registry.delete_registered_model_tag(&name, &key).await?;
    Ok(empty())
}

pub async fn set_alias(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<AliasIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let (name, alias) = (required("name", m.name)?, required("alias", m.alias)?);
    let version = required("version", m.version)?;
    registry
        .set_registered_model_alias(&name, &alias, &version)
        .await?;
    Ok(empty())
}

pub async fn delete_alias(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<AliasIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let (name, alias) = (required("name", m.name)?, required("alias", m.alias)?);
    registry
        .delete_registered_model_alias(&name, &alias)
        .await?;
    Ok(empty())
}

pub async fn get_by_alias(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<AliasIn>,
) -> ApiResult<Json<ModelVersionOut>> {
    let m = req.message;
    let (name, alias) = (required("name", m.name)?, required("alias", m.alias)?);
    Ok(version_out(
        registry.get_model_version_by_alias(&name, &alias).await?,
    ))
}

pub async fn create_version(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<CreateModelVersionIn>,
) -> ApiResult<Json<ModelVersionOut>> {
    let version = registry
        .create_model_version(req.message.into_domain()?)
        .await?;
    Ok(version_out(version))
}

pub async fn get_version(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<VersionIn>,
) -> ApiResult<Json<ModelVersionOut>> {
    let (name, version) = req.message.into_parts()?;
    Ok(version_out(
        registry.get_model_version(&name, &version).await?,
    ))
}

pub async fn update_version(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<UpdateDescriptionIn>,
) -> ApiResult<Json<ModelVersionOut>> {
    let m = req.message;
    let (name, version) = (required("name", m.name)?, required("version", m.version)?);
    Ok(version_out(
        registry
            .update_model_version(&name, &version, m.description.as_deref())
            .await?,
    ))
}

pub async fn transition_stage(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<TransitionStageIn>,
) -> ApiResult<Json<ModelVersionOut>> {
    let (name, version, stage, archive) = req.message.into_parts()?;
    Ok(version_out(
        registry
            .transition_model_version_stage(&name, &version, &stage, archive)
            .await?,
    ))
}

pub async fn delete_version(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<VersionIn>,
) -> ApiResult<Json<Empty>> {
    let (name, version) = req.message.into_parts()?;
    registry.delete_model_version(&name, &version).await?;
    Ok(empty())
}

pub async fn search_versions(
    State(s): State<AppState>,
    WorkspaceRegistry(registry): WorkspaceRegistry,
    caller: Caller,
    workspace: ActiveWorkspace,
    req: MlflowRequest<SearchIn>,
) -> ApiResult<Json<ModelVersionsOut>> {
    let page = search_visible_versions(&s, &registry, &caller, &workspace, req.message).await?;
    Ok(Json(ModelVersionsOut {
        model_versions: page.items.into_iter().map(ModelVersion::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// A model-version search over the models and prompts the caller may read
/// (`model-versions/search` and GraphQL's version lists).
pub(crate) async fn search_visible_versions(
    s: &AppState,
    registry: &keel_core::Registry,
    caller: &Caller,
    workspace: &ActiveWorkspace,
    request: SearchIn,
) -> ApiResult<keel_core::Page<keel_core::ModelVersion>> {
    let mut search = request.into_model_versions();
    search.visible = visible_models(s, caller, workspace).await?;
    Ok(registry.search_model_versions(search).await?)
}

pub async fn download_uri(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<VersionIn>,
) -> ApiResult<Json<DownloadUriOut>> {
    let (name, version) = req.message.into_parts()?;
    let artifact_uri = registry
        .get_model_version_download_uri(&name, &version)
        .await?;
    Ok(Json(DownloadUriOut { artifact_uri }))
}

pub async fn set_version_tag(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<TagRequestIn>,
) -> ApiResult<Json<Empty>> {
    let mut m = req.message;
    let name = required("name", m.name.take())?;
    let version = required("version", m.version.take())?;
    registry
        .set_model_version_tag(&name, &version, m.into_tag()?)
        .await?;
    Ok(empty())
}

pub async fn delete_version_tag(
    WorkspaceRegistry(registry): WorkspaceRegistry,
    req: MlflowRequest<TagRequestIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let (name, version) = (required("name", m.name)?, required("version", m.version)?);
    let key = required("key", m.key)?;
    registry
        .delete_model_version_tag(&name, &version, &key)
        .await?;
    Ok(empty())
}

/// The store path of a version's artifact root: a proxied (`mlflow-artifacts:`) location, or
/// one inside the object store the server writes to. Anything else is not this server's to read.
fn store_root(s: &AppState, location: &str) -> Result<ArtifactPath, Error> {
    if let Ok(path) = proxied_path(location) {
        return Ok(path);
    }
    match s.registry.sources().store_relative_path(location) {
        Some(relative) => ArtifactPath::parse(&relative),
        None => Err(Error::invalid(format!(
            "The model version's files at '{location}' are not in this server's artifact store."
        ))),
    }
}

/// `GET /model-versions/get-artifact?name=&version=&path=`: one file of a version's artifacts.
pub async fn get_artifact(
    State(s): State<AppState>,
    WorkspaceRegistry(registry): WorkspaceRegistry,
    headers: HeaderMap,
    req: MlflowRequest<VersionArtifactIn>,
) -> ApiResult<Response> {
    let m = req.message;
    let Some(path) = m.path.filter(|p| !p.is_empty()) else {
        return Err(Error::new(
            ErrorCode::BadRequest,
            "Request must include the \"path\" query parameter.",
        )
        .into());
    };
    let relative = ArtifactPath::parse(&path)?;
    let (name, version) = (required("name", m.name)?, required("version", m.version)?);
    let location = registry
        .model_version_artifact_location(&name, &version)
        .await?;
    let file = store_root(&s, &location)?.join(&relative);
    serve_file(&s, &file, &headers).await
}
