//! The gateway's storage, implemented in `keel-store` for SQLite and PostgreSQL. Every call
//! names its workspace: a secret of another workspace does not exist for it.

use async_trait::async_trait;
use keel_core::Result;

use crate::bindings::{BindingFilter, BindingWrite, EndpointBinding};
use crate::budgets::BudgetPolicy;
use crate::endpoints::{Endpoint, EndpointKey, EndpointWrite, FallbackConfig, ModelMapping};
use crate::guardrails::{AddOutcome, Guardrail, GuardrailAttachment, GuardrailConfig};
use crate::ledger::{UsageCounts, UsageKey, UsageQuery, UsageRow};
use crate::limits::{Counter, Crossed, Reserved, Settlement};
use crate::mappings::{AttachOutcome, DetachOutcome};
use crate::model_definitions::{DefinitionDelete, DefinitionWrite, ModelDefinition};
use crate::rate_limits::RateLimit;
use crate::secrets::GatewaySecret;

#[async_trait]
pub trait GatewayStore: Send + Sync + std::fmt::Debug {
    /// Inserts `secret`; `false` when its workspace already has a secret of that name.
    async fn insert_secret(&self, secret: &GatewaySecret) -> Result<bool>;

    async fn get_secret(&self, workspace: &str, secret_id: &str) -> Result<Option<GatewaySecret>>;

    /// The workspace's secrets (of `provider`, if given), oldest first.
    async fn list_secrets(
        &self,
        workspace: &str,
        provider: Option<&str>,
    ) -> Result<Vec<GatewaySecret>>;

    /// Writes `secret`'s mutable fields (values, masks, auth config, update time and author);
    /// `false` when it no longer exists.
    async fn update_secret(&self, secret: &GatewaySecret) -> Result<bool>;

    /// `false` when there was no such secret.
    async fn delete_secret(&self, workspace: &str, secret_id: &str) -> Result<bool>;

    /// Inserts `definition` if its secret exists in its workspace and its name is free there
    /// (the secret cannot be deleted meanwhile).
    async fn insert_model_definition(
        &self,
        definition: &ModelDefinition,
    ) -> Result<DefinitionWrite>;

    /// A definition with its secret's name.
    async fn get_model_definition(
        &self,
        workspace: &str,
        id: &str,
    ) -> Result<Option<ModelDefinition>>;

    /// The workspace's definitions (of `provider`, using `secret_id`, if given), oldest first.
    async fn list_model_definitions(
        &self,
        workspace: &str,
        provider: Option<&str>,
        secret_id: Option<&str>,
    ) -> Result<Vec<ModelDefinition>>;

    /// Writes `definition`'s name, secret, provider, model and update time and author, with the
    /// same checks as an insert.
    async fn update_model_definition(
        &self,
        definition: &ModelDefinition,
    ) -> Result<DefinitionWrite>;

    /// Deletes a definition no endpoint routes to.
    async fn delete_model_definition(&self, workspace: &str, id: &str) -> Result<DefinitionDelete>;

    /// Inserts `endpoint` with its mappings (in order) if every mapped definition exists in its
    /// workspace and its name is free there.
    async fn insert_endpoint(&self, endpoint: &Endpoint) -> Result<EndpointWrite>;

    /// An endpoint with its mappings (each with its definition) and tags.
    async fn get_endpoint(&self, workspace: &str, key: EndpointKey<'_>)
    -> Result<Option<Endpoint>>;

    /// The workspace's endpoints that have a model (of `provider`, if given), by name.
    async fn list_endpoints(
        &self,
        workspace: &str,
        provider: Option<&str>,
    ) -> Result<Vec<Endpoint>>;

    /// Writes `endpoint`'s settings (name, routing, fallbacks, experiment, usage tracking,
    /// update time and author) and, with `replace_mappings`, replaces its mappings.
    async fn update_endpoint(
        &self,
        endpoint: &Endpoint,
        replace_mappings: bool,
    ) -> Result<EndpointWrite>;

    /// Deletes an endpoint with its mappings and tags; `false` when there was none.
    async fn delete_endpoint(&self, workspace: &str, endpoint_id: &str) -> Result<bool>;

    /// Sets a tag; `false` when the endpoint does not exist.
    async fn set_endpoint_tag(
        &self,
        workspace: &str,
        endpoint_id: &str,
        key: &str,
        value: &str,
    ) -> Result<bool>;

    /// Deletes a tag (if set); `false` when the endpoint does not exist.
    async fn delete_endpoint_tag(
        &self,
        workspace: &str,
        endpoint_id: &str,
        key: &str,
    ) -> Result<bool>;

    /// Attaches `mapping` after the endpoint's other models, if the endpoint and the
    /// definition exist in `workspace`, the definition is not attached with that linkage yet
    /// and the endpoint has fewer than `max_models`; sets the endpoint's update time (the
    /// mapping's creation time), its last author when `updated_by` is given, and its fallback
    /// settings to `fallback_if_unset` when it has none.
    async fn attach_model(
        &self,
        workspace: &str,
        mapping: &ModelMapping,
        fallback_if_unset: Option<&FallbackConfig>,
        updated_by: Option<&str>,
        max_models: usize,
    ) -> Result<AttachOutcome>;

    /// Removes the endpoint's first mapping of the definition (by position, any linkage).
    async fn detach_model(
        &self,
        workspace: &str,
        endpoint_id: &str,
        model_definition_id: &str,
    ) -> Result<DetachOutcome>;

    /// Inserts `binding` if its endpoint is in `workspace` and it is not bound already.
    async fn insert_binding(
        &self,
        workspace: &str,
        binding: &EndpointBinding,
    ) -> Result<BindingWrite>;

    /// `false` when the endpoint (in `workspace`) had no such binding.
    async fn delete_binding(
        &self,
        workspace: &str,
        endpoint_id: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<bool>;

    /// The workspace's bindings matching `filter`, oldest first.
    async fn list_bindings(
        &self,
        workspace: &str,
        filter: &BindingFilter,
    ) -> Result<Vec<EndpointBinding>>;

    /// Inserts `policy` (its ID is new).
    async fn insert_budget_policy(&self, policy: &BudgetPolicy) -> Result<()>;

    async fn get_budget_policy(&self, workspace: &str, id: &str) -> Result<Option<BudgetPolicy>>;

    /// Up to `limit` of the workspace's policies from `offset`, by ID.
    async fn list_budget_policies(
        &self,
        workspace: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<BudgetPolicy>>;

    /// Every workspace's policies (what calls are held to).
    async fn all_budget_policies(&self) -> Result<Vec<BudgetPolicy>>;

    /// Writes `policy`'s settings; `false` when it no longer exists.
    async fn update_budget_policy(&self, policy: &BudgetPolicy) -> Result<bool>;

    /// Deletes a policy with its counters; `false` when there was none.
    async fn delete_budget_policy(&self, workspace: &str, id: &str) -> Result<bool>;

    async fn insert_rate_limit(&self, limit: &RateLimit) -> Result<()>;

    async fn get_rate_limit(&self, workspace: &str, id: &str) -> Result<Option<RateLimit>>;

    /// Up to `limit` of the workspace's rate limits from `offset`, by ID.
    async fn list_rate_limits(
        &self,
        workspace: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<RateLimit>>;

    /// Every workspace's rate limits (what calls are held to).
    async fn all_rate_limits(&self) -> Result<Vec<RateLimit>>;

    /// Writes `limit`'s settings; `false` when it no longer exists.
    async fn update_rate_limit(&self, limit: &RateLimit) -> Result<bool>;

    /// Deletes a rate limit with its counters; `false` when there was none.
    async fn delete_rate_limit(&self, workspace: &str, id: &str) -> Result<bool>;

    /// In one transaction: holds each counter's `held` (recorded under `hold_id` until
    /// `expires_at_ms`), unless a rejecting counter's settled use plus everything held on it
    /// would pass its limit (or has reached it) — then holds nothing and names that counter.
    async fn reserve_limits(
        &self,
        hold_id: &str,
        counters: &[Counter],
        expires_at_ms: i64,
    ) -> Result<Reserved>;

    /// In one transaction: releases the hold (if not expired and released already) and adds
    /// each counter's use; returns the counters that reached their limit with it, once per
    /// window.
    async fn settle_limits(
        &self,
        hold_id: &str,
        settlements: &[Settlement],
    ) -> Result<Vec<Crossed>>;

    /// Each counter's settled use and holds in a window (`(0, 0)` for one never used).
    async fn limit_usage(&self, counters: &[(String, i64)]) -> Result<Vec<(i64, i64)>>;

    /// Releases the holds that expired by `now_ms` and deletes counters of windows that ended
    /// before `ended_before_ms`; returns the holds released.
    async fn sweep_limits(&self, now_ms: i64, ended_before_ms: i64) -> Result<u64>;

    /// Adds each row's counts to the ledger (one transaction).
    async fn add_usage(&self, rows: &[(UsageKey, UsageCounts)]) -> Result<()>;

    /// The ledger's rows matching `query`, summed over what it does not group by, at most
    /// `limit` of them, ordered by the grouped columns.
    async fn query_usage(&self, query: &UsageQuery, limit: usize) -> Result<Vec<UsageRow>>;

    async fn insert_guardrail(&self, guardrail: &Guardrail) -> Result<()>;

    async fn get_guardrail(&self, workspace: &str, id: &str) -> Result<Option<Guardrail>>;

    /// Up to `limit` of the workspace's guardrails from `offset`, by ID.
    async fn list_guardrails(
        &self,
        workspace: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Guardrail>>;

    /// Deletes a guardrail and its endpoint configs; `false` when there was none.
    async fn delete_guardrail(&self, workspace: &str, id: &str) -> Result<bool>;

    /// Adds a guardrail to an endpoint (both in `workspace`) unless it is there already or the
    /// endpoint runs `max_per_endpoint` guardrails; adds to one endpoint apply one at a time.
    async fn add_guardrail_to_endpoint(
        &self,
        workspace: &str,
        attachment: &GuardrailAttachment,
        max_per_endpoint: usize,
    ) -> Result<AddOutcome>;

    /// Sets a config's execution order; `None` when there is no such config.
    async fn set_guardrail_order(
        &self,
        workspace: &str,
        endpoint_id: &str,
        guardrail_id: &str,
        execution_order: Option<i32>,
    ) -> Result<Option<GuardrailConfig>>;

    /// `false` when the endpoint had no such guardrail.
    async fn remove_guardrail_from_endpoint(
        &self,
        workspace: &str,
        endpoint_id: &str,
        guardrail_id: &str,
    ) -> Result<bool>;

    /// An endpoint's guardrails with their configs, by execution order (unset last), then ID.
    async fn endpoint_guardrails(
        &self,
        workspace: &str,
        endpoint_id: &str,
    ) -> Result<Vec<GuardrailConfig>>;
}
