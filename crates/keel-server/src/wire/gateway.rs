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

/// A budget's window length as requested (the unit by name or number).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct DurationWire {
    pub unit: Option<crate::wire::proto::Stringish>,
    #[serde(default, deserialize_with = "crate::wire::proto::opt_i64")]
    pub value: Option<i64>,
}

impl From<DurationWire> for keel_gateway::DurationIn {
    fn from(d: DurationWire) -> Self {
        Self {
            unit: d.unit.map(|u| u.0),
            value: d.value,
        }
    }
}

/// A budget's window length as shown.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DurationOut {
    pub unit: &'static str,
    pub value: u32,
}

/// `GatewayBudgetPolicy`: `created_by` and `last_updated_by` always (`""` when unset), as the
/// reference writes them; `target_value` only when set.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BudgetPolicyOut {
    pub budget_policy_id: String,
    pub budget_unit: &'static str,
    pub budget_amount: f64,
    pub duration: DurationOut,
    pub target_scope: &'static str,
    pub budget_action: &'static str,
    pub created_by: String,
    pub created_at: i64,
    pub last_updated_by: String,
    pub last_updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_value: Option<String>,
}

impl From<keel_gateway::BudgetPolicy> for BudgetPolicyOut {
    fn from(p: keel_gateway::BudgetPolicy) -> Self {
        Self {
            budget_policy_id: p.budget_policy_id,
            budget_unit: keel_gateway::budgets::USD,
            budget_amount: p.budget_amount,
            duration: DurationOut {
                unit: p.duration.unit.as_str(),
                value: p.duration.value,
            },
            target_scope: p.target_scope.as_str(),
            budget_action: p.budget_action.as_str(),
            created_by: p.created_by.unwrap_or_default(),
            created_at: p.created_at,
            last_updated_by: p.last_updated_by.unwrap_or_default(),
            last_updated_at: p.last_updated_at,
            target_value: p.target_value,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BudgetPolicyResponse {
    pub budget_policy: BudgetPolicyOut,
}

/// `budgets/list`'s answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BudgetPoliciesOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub budget_policies: Vec<BudgetPolicyOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `budgets/create`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct CreateBudgetPolicyIn {
    pub budget_unit: Option<crate::wire::proto::Stringish>,
    #[serde(default, deserialize_with = "crate::wire::proto::opt_f64")]
    pub budget_amount: Option<f64>,
    pub duration: Option<DurationWire>,
    pub target_scope: Option<crate::wire::proto::Stringish>,
    pub target_value: Option<String>,
    pub budget_action: Option<crate::wire::proto::Stringish>,
    pub created_by: Option<String>,
}

impl From<CreateBudgetPolicyIn> for keel_gateway::CreateBudgetPolicy {
    fn from(m: CreateBudgetPolicyIn) -> Self {
        Self {
            budget_unit: m.budget_unit.map(|s| s.0),
            budget_amount: m.budget_amount,
            duration: m.duration.map(Into::into),
            target_scope: m.target_scope.map(|s| s.0),
            target_value: m.target_value,
            budget_action: m.budget_action.map(|s| s.0),
            created_by: m.created_by,
        }
    }
}

/// `budgets/update`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UpdateBudgetPolicyIn {
    pub budget_policy_id: Option<String>,
    pub budget_unit: Option<crate::wire::proto::Stringish>,
    #[serde(default, deserialize_with = "crate::wire::proto::opt_f64")]
    pub budget_amount: Option<f64>,
    pub duration: Option<DurationWire>,
    pub target_scope: Option<crate::wire::proto::Stringish>,
    pub target_value: Option<String>,
    pub budget_action: Option<crate::wire::proto::Stringish>,
    pub updated_by: Option<String>,
}

impl From<UpdateBudgetPolicyIn> for keel_gateway::UpdateBudgetPolicy {
    fn from(m: UpdateBudgetPolicyIn) -> Self {
        Self {
            budget_policy_id: m.budget_policy_id,
            budget_unit: m.budget_unit.map(|s| s.0),
            budget_amount: m.budget_amount,
            duration: m.duration.map(Into::into),
            target_scope: m.target_scope.map(|s| s.0),
            target_value: m.target_value,
            budget_action: m.budget_action.map(|s| s.0),
            updated_by: m.updated_by,
        }
    }
}

/// `budgets/get` and `budgets/delete`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct BudgetPolicyIdIn {
    pub budget_policy_id: Option<String>,
}

/// `budgets/list`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct ListBudgetPoliciesIn {
    #[serde(default, deserialize_with = "crate::wire::proto::opt_i64")]
    pub max_results: Option<i64>,
    pub page_token: Option<String>,
}

/// One window of `budgets/windows`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BudgetWindowOut {
    pub budget_policy_id: String,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    pub current_spend: f64,
    /// Keel's own: held for calls in flight (their worst case), in USD.
    pub reserved_spend: f64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BudgetWindowsOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<BudgetWindowOut>,
}

impl From<keel_gateway::BudgetWindow> for BudgetWindowOut {
    fn from(w: keel_gateway::BudgetWindow) -> Self {
        Self {
            budget_policy_id: w.budget_policy_id,
            window_start_ms: w.window.start_ms,
            window_end_ms: w.window.end_ms,
            current_spend: w.current_spend,
            reserved_spend: w.reserved_spend,
        }
    }
}

/// A rate limit (Keel's own), every field shown; a dimension without a limit is left out.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RateLimitOut {
    pub rate_limit_id: String,
    pub target_scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_by: Option<String>,
    pub last_updated_at: i64,
}

impl From<keel_gateway::RateLimit> for RateLimitOut {
    fn from(l: keel_gateway::RateLimit) -> Self {
        Self {
            rate_limit_id: l.rate_limit_id,
            target_scope: l.target_scope.as_str(),
            target_value: l.target_value,
            requests_per_minute: l.requests_per_minute,
            tokens_per_minute: l.tokens_per_minute,
            created_by: l.created_by,
            created_at: l.created_at,
            last_updated_by: l.last_updated_by,
            last_updated_at: l.last_updated_at,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RateLimitResponse {
    pub rate_limit: RateLimitOut,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RateLimitsOut {
    pub rate_limits: Vec<RateLimitOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `rate-limits/create` and `rate-limits/update` (`rate_limit_id` names the one to update;
/// `created_by` or `updated_by` the author; a limit of 0 removes that dimension's limit).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct RateLimitIn {
    pub rate_limit_id: Option<String>,
    pub target_scope: Option<crate::wire::proto::Stringish>,
    pub target_value: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::proto::opt_i64")]
    pub requests_per_minute: Option<i64>,
    #[serde(default, deserialize_with = "crate::wire::proto::opt_i64")]
    pub tokens_per_minute: Option<i64>,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
}

impl From<RateLimitIn> for keel_gateway::RateLimitIn {
    fn from(m: RateLimitIn) -> Self {
        Self {
            rate_limit_id: m.rate_limit_id,
            target_scope: m.target_scope.map(|s| s.0),
            target_value: m.target_value,
            requests_per_minute: m.requests_per_minute,
            tokens_per_minute: m.tokens_per_minute,
            author: m.updated_by.or(m.created_by),
        }
    }
}

/// `rate-limits/get` and `rate-limits/delete`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct RateLimitIdIn {
    pub rate_limit_id: Option<String>,
}

/// A rate limit's current minute.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RateWindowOut {
    pub rate_limit_id: String,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    pub requests_used: i64,
    pub requests_held: i64,
    pub tokens_used: i64,
    pub tokens_held: i64,
}

impl From<keel_gateway::RateWindow> for RateWindowOut {
    fn from(w: keel_gateway::RateWindow) -> Self {
        Self {
            rate_limit_id: w.rate_limit_id,
            window_start_ms: w.window.start_ms,
            window_end_ms: w.window.end_ms,
            requests_used: w.requests_used,
            requests_held: w.requests_held,
            tokens_used: w.tokens_used,
            tokens_held: w.tokens_held,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RateWindowsOut {
    pub windows: Vec<RateWindowOut>,
}

/// `gateway/usage`: days as `YYYY-MM-DD` (default: the 30 days to today, UTC), `group_by` any
/// of `day,endpoint,model,user`, optionally one endpoint or user.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct UsageIn {
    pub start_day: Option<String>,
    pub end_day: Option<String>,
    pub group_by: Option<String>,
    pub endpoint_id: Option<String>,
    pub username: Option<String>,
}

/// One row of `gateway/usage`: the grouped columns, then the sums.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UsageRowOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub calls: i64,
    pub failures: i64,
    pub cache_hits: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_usd: f64,
}

impl From<keel_gateway::UsageRow> for UsageRowOut {
    fn from(r: keel_gateway::UsageRow) -> Self {
        Self {
            day: r.day.map(keel_gateway::ledger::format_day),
            endpoint_id: r.endpoint_id,
            endpoint_name: r.endpoint_name,
            provider: r.provider,
            model: r.model,
            username: r.username,
            calls: r.counts.calls,
            failures: r.counts.failures,
            cache_hits: r.counts.cache_hits,
            input_tokens: r.counts.input_tokens,
            output_tokens: r.counts.output_tokens,
            cost_usd: keel_gateway::limits::usd(r.counts.cost_nanos),
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct UsageOut {
    pub start_day: String,
    pub end_day: String,
    pub rows: Vec<UsageRowOut>,
}

/// A guardrail as the reference answers it (Keel's built-in `detector` in place of its
/// `scorer`).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GuardrailOut {
    pub guardrail_id: String,
    pub name: String,
    pub stage: &'static str,
    pub action: &'static str,
    /// Keel's own: the built-in detector the guardrail runs.
    pub detector: serde_json::Value,
    pub created_by: String,
    pub created_at: i64,
    pub last_updated_by: String,
    pub last_updated_at: i64,
}

impl From<keel_gateway::Guardrail> for GuardrailOut {
    fn from(g: keel_gateway::Guardrail) -> Self {
        Self {
            guardrail_id: g.guardrail_id,
            name: g.name,
            stage: g.stage.as_str(),
            action: g.action.as_str(),
            detector: g.detector.to_json(),
            created_by: g.created_by.unwrap_or_default(),
            created_at: g.created_at,
            last_updated_by: g.last_updated_by.unwrap_or_default(),
            last_updated_at: g.last_updated_at,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GuardrailResponse {
    pub guardrail: GuardrailOut,
}

/// `guardrails/list`'s answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GuardrailsOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub guardrails: Vec<GuardrailOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// A guardrail on an endpoint (`execution_order` only when set, as the proto's optional).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GuardrailConfigOut {
    pub endpoint_id: String,
    pub guardrail_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_order: Option<i32>,
    pub guardrail: GuardrailOut,
    pub created_by: String,
    pub created_at: i64,
}

impl From<keel_gateway::GuardrailConfig> for GuardrailConfigOut {
    fn from(c: keel_gateway::GuardrailConfig) -> Self {
        Self {
            endpoint_id: c.endpoint_id,
            guardrail_id: c.guardrail_id,
            execution_order: c.execution_order,
            guardrail: c.guardrail.into(),
            created_by: c.created_by.unwrap_or_default(),
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GuardrailConfigResponse {
    pub config: GuardrailConfigOut,
}

/// `guardrails/list-for-endpoint`'s answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct GuardrailConfigsOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<GuardrailConfigOut>,
}

/// `guardrails/create`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct CreateGuardrailIn {
    pub name: Option<String>,
    pub detector: Option<serde_json::Value>,
    pub scorer_id: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::proto::opt_i64")]
    pub scorer_version: Option<i64>,
    pub stage: Option<crate::wire::proto::Stringish>,
    pub action: Option<crate::wire::proto::Stringish>,
    pub action_endpoint_id: Option<String>,
}

impl From<CreateGuardrailIn> for keel_gateway::CreateGuardrail {
    fn from(m: CreateGuardrailIn) -> Self {
        Self {
            name: m.name,
            detector: m.detector,
            scorer_id: m.scorer_id,
            scorer_version: m.scorer_version,
            stage: m.stage.map(|s| s.0),
            action: m.action.map(|s| s.0),
            action_endpoint_id: m.action_endpoint_id,
        }
    }
}

/// `guardrails/get` and `guardrails/delete`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct GuardrailIdIn {
    pub guardrail_id: Option<String>,
}

/// An endpoint's guardrail config: `add-to-endpoint`, `update-config`,
/// `remove-from-endpoint` (which ignores the order).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct GuardrailConfigIn {
    pub endpoint_id: Option<String>,
    pub guardrail_id: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::proto::opt_i64")]
    pub execution_order: Option<i64>,
}
