//! Wire types of the AI gateway's configuration API (`/api/3.0/mlflow/gateway/...`), shaped
//! as the reference's protobuf messages: fields left out when unset, maps as JSON objects.

use std::collections::BTreeMap;

use keel_gateway::GatewaySecret;
use serde::{Deserialize, Serialize};

/// `GatewaySecretInfo`: a secret as shown — its values only masked.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SecretInfo {
    pub secret_id: String,
    pub secret_name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub masked_values: BTreeMap<String, String>,
    pub created_at: i64,
    pub last_updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub auth_config: BTreeMap<String, String>,
}

impl From<GatewaySecret> for SecretInfo {
    fn from(s: GatewaySecret) -> Self {
        Self {
            secret_id: s.secret_id,
            secret_name: s.secret_name,
            masked_values: s.masked_values,
            created_at: s.created_at,
            last_updated_at: s.last_updated_at,
            provider: s.provider,
            created_by: s.created_by,
            last_updated_by: s.last_updated_by,
            auth_config: s.auth_config,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SecretOut {
    pub secret: SecretInfo,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SecretsOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretInfo>,
}

/// `secrets/create`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct CreateSecretIn {
    pub secret_name: Option<String>,
    pub secret_value: Option<BTreeMap<String, String>>,
    pub provider: Option<String>,
    pub auth_config: Option<BTreeMap<String, String>>,
    pub created_by: Option<String>,
}

impl From<CreateSecretIn> for keel_gateway::CreateSecret {
    fn from(m: CreateSecretIn) -> Self {
        Self {
            secret_name: m.secret_name,
            secret_value: m.secret_value.unwrap_or_default(),
            provider: m.provider,
            auth_config: m.auth_config.unwrap_or_default(),
            created_by: m.created_by,
        }
    }
}

/// `secrets/update`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UpdateSecretIn {
    pub secret_id: Option<String>,
    pub secret_value: Option<BTreeMap<String, String>>,
    pub auth_config: Option<BTreeMap<String, String>>,
    pub updated_by: Option<String>,
}

/// `secrets/get` and `secrets/delete`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct SecretIdIn {
    pub secret_id: Option<String>,
}

/// `secrets/list`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ListSecretsIn {
    pub provider: Option<String>,
}

/// `GatewayModelDefinition`: `secret_id` and `secret_name` are left out once the secret is gone.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ModelDefinitionOut {
    pub model_definition_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    pub provider: String,
    pub model_name: String,
    pub created_at: i64,
    pub last_updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<String>,
}

impl From<keel_gateway::ModelDefinition> for ModelDefinitionOut {
    fn from(d: keel_gateway::ModelDefinition) -> Self {
        Self {
            model_definition_id: d.model_definition_id,
            name: d.name,
            secret_id: d.secret_id,
            secret_name: d.secret_name,
            provider: d.provider,
            model_name: d.model_name,
            created_at: d.created_at,
            last_updated_at: d.last_updated_at,
            created_by: d.created_by,
            last_updated_by: d.last_updated_by,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ModelDefinitionResponse {
    pub model_definition: ModelDefinitionOut,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ModelDefinitionsOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub model_definitions: Vec<ModelDefinitionOut>,
}

/// `model-definitions/create`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct CreateModelDefinitionIn {
    pub name: Option<String>,
    pub secret_id: Option<String>,
    pub provider: Option<String>,
    pub model_name: Option<String>,
    pub created_by: Option<String>,
}

impl From<CreateModelDefinitionIn> for keel_gateway::CreateModelDefinition {
    fn from(m: CreateModelDefinitionIn) -> Self {
        Self {
            name: m.name,
            secret_id: m.secret_id,
            provider: m.provider,
            model_name: m.model_name,
            created_by: m.created_by,
        }
    }
}

/// `model-definitions/update`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UpdateModelDefinitionIn {
    pub model_definition_id: Option<String>,
    pub name: Option<String>,
    pub secret_id: Option<String>,
    pub provider: Option<String>,
    pub model_name: Option<String>,
    pub updated_by: Option<String>,
}

/// `model-definitions/get` and `model-definitions/delete`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ModelDefinitionIdIn {
    pub model_definition_id: Option<String>,
}

/// `model-definitions/list`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ListModelDefinitionsIn {
    pub provider: Option<String>,
    pub secret_id: Option<String>,
}

/// `GatewayEndpointModelMapping`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MappingOut {
    pub mapping_id: String,
    pub endpoint_id: String,
    pub model_definition_id: String,
    pub model_definition: ModelDefinitionOut,
    pub weight: f64,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub linkage_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_order: Option<i32>,
}

impl From<keel_gateway::ModelMapping> for MappingOut {
    fn from(m: keel_gateway::ModelMapping) -> Self {
        Self {
            mapping_id: m.mapping_id,
            endpoint_id: m.endpoint_id,
            model_definition_id: m.model_definition.model_definition_id.clone(),
            model_definition: m.model_definition.into(),
            weight: m.weight,
            created_at: m.created_at,
            created_by: m.created_by,
            linkage_type: m.linkage.as_str(),
            fallback_order: m.fallback_order,
        }
    }
}

/// `endpoints/models/attach`'s answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MappingResponse {
    pub mapping: MappingOut,
}

/// `fallback_config` as requested (the strategy by name or number).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct FallbackConfigWire {
    pub strategy: Option<crate::wire::proto::Stringish>,
    pub max_attempts: Option<i32>,
}

/// `fallback_config` as shown.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct FallbackConfigOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<i32>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EndpointTagOut {
    pub key: String,
    pub value: String,
}

/// `GatewayEndpoint`: `created_by` and `last_updated_by` always (`""` when unset), as the
/// reference writes them.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EndpointOut {
    pub endpoint_id: String,
    pub name: String,
    pub created_at: i64,
    pub last_updated_at: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub model_mappings: Vec<MappingOut>,
    pub created_by: String,
    pub last_updated_by: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<EndpointTagOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_strategy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_config: Option<FallbackConfigOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
    pub usage_tracking: bool,
}

impl From<keel_gateway::Endpoint> for EndpointOut {
    fn from(e: keel_gateway::Endpoint) -> Self {
        Self {
            model_mappings: e.mappings.into_iter().map(MappingOut::from).collect(),
            endpoint_id: e.endpoint_id,
            name: e.name,
            created_at: e.created_at,
            last_updated_at: e.last_updated_at,
            created_by: e.created_by.unwrap_or_default(),
            last_updated_by: e.last_updated_by.unwrap_or_default(),
            tags: e
                .tags
                .into_iter()
                .map(|(key, value)| EndpointTagOut { key, value })
                .collect(),
            routing_strategy: e.routing_strategy,
            fallback_config: e.fallback_config.map(|f| FallbackConfigOut {
                strategy: f.strategy,
                max_attempts: f.max_attempts,
            }),
            experiment_id: e.experiment_id,
            usage_tracking: e.usage_tracking,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EndpointResponse {
    pub endpoint: EndpointOut,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EndpointsOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<EndpointOut>,
}

/// One of a request's `model_configs`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ModelConfigWire {
    pub model_definition_id: Option<String>,
    pub linkage_type: Option<crate::wire::proto::Stringish>,
    pub weight: Option<f64>,
    pub fallback_order: Option<i32>,
}

impl From<ModelConfigWire> for keel_gateway::ModelConfigIn {
    fn from(c: ModelConfigWire) -> Self {
        Self {
            model_definition_id: c.model_definition_id,
            linkage_type: c.linkage_type.map(|s| s.0),
            weight: c.weight,
            fallback_order: c.fallback_order,
        }
    }
}

fn configs(list: Option<Vec<ModelConfigWire>>) -> Option<Vec<keel_gateway::ModelConfigIn>> {
    list.map(|list| list.into_iter().map(Into::into).collect())
}

fn fallback(config: Option<FallbackConfigWire>) -> Option<keel_gateway::FallbackConfig> {
    config.map(|f| keel_gateway::FallbackConfig {
        strategy: f.strategy.map(|s| s.0),
        max_attempts: f.max_attempts,
    })
}

/// `endpoints/create`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct CreateEndpointIn {
    pub name: Option<String>,
    pub model_configs: Option<Vec<ModelConfigWire>>,
    pub created_by: Option<String>,
    pub routing_strategy: Option<crate::wire::proto::Stringish>,
    pub fallback_config: Option<FallbackConfigWire>,
    pub experiment_id: Option<crate::wire::proto::Stringish>,
    pub usage_tracking: Option<bool>,
}

impl From<CreateEndpointIn> for keel_gateway::CreateEndpoint {
    fn from(m: CreateEndpointIn) -> Self {
        Self {
            name: m.name,
            model_configs: configs(m.model_configs),
            created_by: m.created_by,
            routing_strategy: m.routing_strategy.map(|s| s.0),
            fallback_config: fallback(m.fallback_config),
            experiment_id: m.experiment_id.map(|s| s.0),
            usage_tracking: m.usage_tracking,
        }
    }
}

/// `endpoints/update`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UpdateEndpointIn {
    pub endpoint_id: Option<String>,
    pub name: Option<String>,
    pub updated_by: Option<String>,
    pub model_configs: Option<Vec<ModelConfigWire>>,
    pub routing_strategy: Option<crate::wire::proto::Stringish>,
    pub fallback_config: Option<FallbackConfigWire>,
    pub experiment_id: Option<crate::wire::proto::Stringish>,
    pub usage_tracking: Option<bool>,
}

impl UpdateEndpointIn {
    pub fn into_domain(self, endpoint_id: String) -> keel_gateway::UpdateEndpoint {
        keel_gateway::UpdateEndpoint {
            endpoint_id,
            name: self.name,
            updated_by: self.updated_by,
            model_configs: configs(self.model_configs),
            routing_strategy: self.routing_strategy.map(|s| s.0),
            fallback_config: fallback(self.fallback_config),
            experiment_id: self.experiment_id.map(|s| s.0),
            usage_tracking: self.usage_tracking,
        }
    }
}

/// `endpoints/get`: exactly one of the two.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct GetEndpointIn {
    pub endpoint_id: Option<String>,
    pub name: Option<String>,
}

/// `endpoints/delete`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct EndpointIdIn {
    pub endpoint_id: Option<String>,
}

/// `endpoints/list`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ListEndpointsIn {
    pub provider: Option<String>,
}

/// `endpoints/set-tag` and `endpoints/delete-tag` (which ignores `value`).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct EndpointTagIn {
    pub endpoint_id: Option<String>,
    pub key: Option<String>,
    pub value: Option<String>,
}

/// `endpoints/models/attach`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct AttachModelIn {
    pub endpoint_id: Option<String>,
    pub model_config: Option<ModelConfigWire>,
    pub created_by: Option<String>,
}

/// `endpoints/models/detach`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct DetachModelIn {
    pub endpoint_id: Option<String>,
    pub model_definition_id: Option<String>,
}

/// `supported-models` and `provider-config`: the provider asked about.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ProviderIn {
    pub provider: Option<String>,
}

/// `supported-providers`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ProvidersOut {
    pub providers: Vec<&'static str>,
}

/// `supported-models`: each model with its mode and prices per token.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ModelsOut {
    pub models: Vec<serde_json::Value>,
}

/// `secrets/config`: secrets can be stored, and not under a default passphrase (Keel's key
/// is the operator's or generated for the deployment).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SecretsConfigOut {
    pub secrets_available: bool,
    pub using_default_passphrase: bool,
}

/// `GatewayEndpointBinding`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BindingOut {
    pub endpoint_id: String,
    pub resource_type: String,
    pub resource_id: String,
    pub created_at: i64,
    pub last_updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl From<keel_gateway::EndpointBinding> for BindingOut {
    fn from(b: keel_gateway::EndpointBinding) -> Self {
        Self {
            endpoint_id: b.endpoint_id,
            resource_type: b.resource_type,
            resource_id: b.resource_id,
            created_at: b.created_at,
            last_updated_at: b.last_updated_at,
            created_by: b.created_by,
            last_updated_by: b.last_updated_by,
            display_name: b.display_name,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BindingResponse {
    pub binding: BindingOut,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BindingsOut {
    pub bindings: Vec<BindingOut>,
}

/// `endpoints/bindings/create`, `delete` (which ignores `created_by`) and `list` (each field
/// narrows the listing).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct BindingIn {
    pub endpoint_id: Option<String>,
    pub resource_type: Option<crate::wire::proto::Stringish>,
    pub resource_id: Option<String>,
    pub created_by: Option<String>,
}
