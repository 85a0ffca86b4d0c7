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
