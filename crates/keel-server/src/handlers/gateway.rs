//! The AI gateway's configuration API: provider secrets (`gateway/secrets/*`) and model
//! definitions (`gateway/model-definitions/*`), in the request's workspace.

use axum::Json;
use axum::extract::State;

use super::{Empty, empty};
use crate::error::ApiResult;
use crate::extract::MlflowRequest;
use crate::state::AppState;
use crate::wire::gateway::*;
use crate::wire::requests::need;
use crate::workspace::ActiveWorkspace;

pub async fn create_secret(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<CreateSecretIn>,
) -> ApiResult<Json<SecretOut>> {
    let secret = s
        .gateway
        .create_secret(workspace.name(), req.message.into())
        .await?;
    Ok(Json(SecretOut {
        secret: secret.into(),
    }))
}

pub async fn get_secret(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<SecretIdIn>,
) -> ApiResult<Json<SecretOut>> {
    let id = need("secret_id", req.message.secret_id)?;
    let secret = s.gateway.get_secret(workspace.name(), &id).await?;
    Ok(Json(SecretOut {
        secret: secret.into(),
    }))
}

pub async fn list_secrets(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<ListSecretsIn>,
) -> ApiResult<Json<SecretsOut>> {
    let secrets = s
        .gateway
        .list_secrets(workspace.name(), req.message.provider.as_deref())
        .await?;
    Ok(Json(SecretsOut {
        secrets: secrets.into_iter().map(SecretInfo::from).collect(),
    }))
}

pub async fn update_secret(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<UpdateSecretIn>,
) -> ApiResult<Json<SecretOut>> {
    let m = req.message;
    let update = keel_gateway::UpdateSecret {
        secret_id: need("secret_id", m.secret_id)?,
        secret_value: m.secret_value.unwrap_or_default(),
        auth_config: m.auth_config.unwrap_or_default(),
        updated_by: m.updated_by,
    };
    let secret = s.gateway.update_secret(workspace.name(), update).await?;
    Ok(Json(SecretOut {
        secret: secret.into(),
    }))
}

pub async fn delete_secret(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<SecretIdIn>,
) -> ApiResult<Json<Empty>> {
    let id = need("secret_id", req.message.secret_id)?;
    s.gateway.delete_secret(workspace.name(), &id).await?;
    Ok(empty())
}

pub async fn create_model_definition(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<CreateModelDefinitionIn>,
) -> ApiResult<Json<ModelDefinitionResponse>> {
    let definition = s
        .gateway
        .create_model_definition(workspace.name(), req.message.into())
        .await?;
    Ok(Json(ModelDefinitionResponse {
        model_definition: definition.into(),
    }))
}

pub async fn get_model_definition(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<ModelDefinitionIdIn>,
) -> ApiResult<Json<ModelDefinitionResponse>> {
    let id = need("model_definition_id", req.message.model_definition_id)?;
    let definition = s
        .gateway
        .get_model_definition(workspace.name(), &id)
        .await?;
    Ok(Json(ModelDefinitionResponse {
        model_definition: definition.into(),
    }))
}

pub async fn list_model_definitions(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<ListModelDefinitionsIn>,
) -> ApiResult<Json<ModelDefinitionsOut>> {
    let m = req.message;
    let definitions = s
        .gateway
        .list_model_definitions(
            workspace.name(),
            m.provider.as_deref(),
            m.secret_id.as_deref(),
        )
        .await?;
    Ok(Json(ModelDefinitionsOut {
        model_definitions: definitions.into_iter().map(Into::into).collect(),
    }))
}

pub async fn update_model_definition(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<UpdateModelDefinitionIn>,
) -> ApiResult<Json<ModelDefinitionResponse>> {
    let m = req.message;
    let update = keel_gateway::UpdateModelDefinition {
        model_definition_id: need("model_definition_id", m.model_definition_id)?,
        name: m.name,
        secret_id: m.secret_id,
        provider: m.provider,
        model_name: m.model_name,
        updated_by: m.updated_by,
    };
    let definition = s
        .gateway
        .update_model_definition(workspace.name(), update)
        .await?;
    Ok(Json(ModelDefinitionResponse {
        model_definition: definition.into(),
    }))
}

pub async fn delete_model_definition(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<ModelDefinitionIdIn>,
) -> ApiResult<Json<Empty>> {
    let id = need("model_definition_id", req.message.model_definition_id)?;
    s.gateway
        .delete_model_definition(workspace.name(), &id)
        .await?;
    Ok(empty())
}
