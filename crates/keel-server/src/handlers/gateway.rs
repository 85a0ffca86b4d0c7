//! The AI gateway's configuration API: provider secrets (`gateway/secrets/*`), in the
//! request's workspace.

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
