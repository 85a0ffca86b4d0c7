//! The AI gateway's configuration API: provider secrets (`gateway/secrets/*`), model
//! definitions (`gateway/model-definitions/*`) and endpoints (`gateway/endpoints/*`, with
//! their models attached and detached and what is bound to them), in the request's workspace;
//! and what the web UI asks before configuring it.

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

fn endpoint(e: keel_gateway::Endpoint) -> Json<EndpointResponse> {
    Json(EndpointResponse { endpoint: e.into() })
}

pub async fn create_endpoint(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<CreateEndpointIn>,
) -> ApiResult<Json<EndpointResponse>> {
    let created = s
        .gateway
        .create_endpoint(&workspace.0, req.message.into())
        .await?;
    Ok(endpoint(created))
}

pub async fn get_endpoint(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<GetEndpointIn>,
) -> ApiResult<Json<EndpointResponse>> {
    let m = req.message;
    let key = match (m.endpoint_id.as_deref(), m.name.as_deref()) {
        (Some(id), None) if !id.is_empty() => keel_gateway::EndpointKey::Id(id),
        (None, Some(name)) if !name.is_empty() => keel_gateway::EndpointKey::Name(name),
        _ => {
            return Err(keel_core::Error::invalid(
                "Exactly one of endpoint_id or name must be provided",
            )
            .into());
        }
    };
    Ok(endpoint(
        s.gateway.get_endpoint(workspace.name(), key).await?,
    ))
}

pub async fn list_endpoints(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<ListEndpointsIn>,
) -> ApiResult<Json<EndpointsOut>> {
    let endpoints = s
        .gateway
        .list_endpoints(workspace.name(), req.message.provider.as_deref())
        .await?;
    Ok(Json(EndpointsOut {
        endpoints: endpoints.into_iter().map(Into::into).collect(),
    }))
}

pub async fn update_endpoint(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<UpdateEndpointIn>,
) -> ApiResult<Json<EndpointResponse>> {
    let mut m = req.message;
    let id = need("endpoint_id", m.endpoint_id.take())?;
    let updated = s
        .gateway
        .update_endpoint(&workspace.0, m.into_domain(id))
        .await?;
    Ok(endpoint(updated))
}

pub async fn delete_endpoint(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<EndpointIdIn>,
) -> ApiResult<Json<Empty>> {
    let id = need("endpoint_id", req.message.endpoint_id)?;
    s.gateway.delete_endpoint(workspace.name(), &id).await?;
    Ok(empty())
}

pub async fn set_endpoint_tag(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<EndpointTagIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let id = need("endpoint_id", m.endpoint_id)?;
    let key = need("key", m.key)?;
    s.gateway
        .set_endpoint_tag(
            workspace.name(),
            &id,
            &key,
            m.value.as_deref().unwrap_or(""),
        )
        .await?;
    Ok(empty())
}

pub async fn delete_endpoint_tag(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<EndpointTagIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let id = need("endpoint_id", m.endpoint_id)?;
    let key = need("key", m.key)?;
    s.gateway
        .delete_endpoint_tag(workspace.name(), &id, &key)
        .await?;
    Ok(empty())
}

pub async fn attach_model(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<AttachModelIn>,
) -> ApiResult<Json<MappingResponse>> {
    let m = req.message;
    let attach = keel_gateway::AttachModel {
        endpoint_id: need("endpoint_id", m.endpoint_id)?,
        model_config: m.model_config.map(Into::into),
        created_by: m.created_by,
    };
    let mapping = s.gateway.attach_model(workspace.name(), attach).await?;
    Ok(Json(MappingResponse {
        mapping: mapping.into(),
    }))
}

pub async fn detach_model(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<DetachModelIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    let endpoint_id = need("endpoint_id", m.endpoint_id)?;
    let definition_id = need("model_definition_id", m.model_definition_id)?;
    s.gateway
        .detach_model(workspace.name(), &endpoint_id, &definition_id)
        .await?;
    Ok(empty())
}

/// `GET /ajax-api/3.0/mlflow/gateway/supported-providers`.
pub async fn supported_providers(State(s): State<AppState>) -> Json<ProvidersOut> {
    Json(ProvidersOut {
        providers: s.gateway.supported_providers(),
    })
}

/// `GET /ajax-api/3.0/mlflow/gateway/supported-models[?provider=]`.
pub async fn supported_models(
    State(s): State<AppState>,
    req: MlflowRequest<ProviderIn>,
) -> Json<ModelsOut> {
    let provider = req.message.provider.filter(|p| !p.is_empty());
    Json(ModelsOut {
        models: s.gateway.supported_models(provider.as_deref()),
    })
}

/// `GET /ajax-api/3.0/mlflow/gateway/provider-config?provider=`.
pub async fn provider_config(
    State(s): State<AppState>,
    req: MlflowRequest<ProviderIn>,
) -> ApiResult<Json<serde_json::Value>> {
    let provider = req
        .message
        .provider
        .filter(|p| !p.is_empty())
        .ok_or_else(|| keel_core::Error::invalid("Provider parameter is required"))?;
    let config = s.gateway.provider_config(&provider).ok_or_else(|| {
        keel_core::Error::invalid(format!(
            "Provider '{provider}' is not supported by Keel's gateway."
        ))
    })?;
    Ok(Json(config))
}

/// `GET /ajax-api/3.0/mlflow/gateway/secrets/config`.
pub async fn secrets_config() -> Json<SecretsConfigOut> {
    Json(SecretsConfigOut {
        secrets_available: true,
        using_default_passphrase: false,
    })
}

pub async fn create_binding(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<BindingIn>,
) -> ApiResult<Json<BindingResponse>> {
    let m = req.message;
    let binding = s
        .gateway
        .create_binding(
            workspace.name(),
            m.endpoint_id,
            m.resource_type.map(|t| t.0),
            m.resource_id,
            m.created_by,
        )
        .await?;
    Ok(Json(BindingResponse {
        binding: binding.into(),
    }))
}

pub async fn delete_binding(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<BindingIn>,
) -> ApiResult<Json<Empty>> {
    let m = req.message;
    s.gateway
        .delete_binding(
            workspace.name(),
            m.endpoint_id,
            m.resource_type.map(|t| t.0),
            m.resource_id,
        )
        .await?;
    Ok(empty())
}

pub async fn list_bindings(
    State(s): State<AppState>,
    workspace: ActiveWorkspace,
    req: MlflowRequest<BindingIn>,
) -> ApiResult<Json<BindingsOut>> {
    let m = req.message;
    let filter = keel_gateway::BindingFilter {
        endpoint_id: m.endpoint_id,
        resource_type: m.resource_type.map(|t| t.0),
        resource_id: m.resource_id,
    };
    let bindings = s.gateway.list_bindings(workspace.name(), filter).await?;
    Ok(Json(BindingsOut {
        bindings: bindings.into_iter().map(Into::into).collect(),
    }))
}
