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
