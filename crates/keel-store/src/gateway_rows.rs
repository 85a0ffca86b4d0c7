//! What both backends store the AI gateway's rows as: the column lists their queries select,
//! and the JSON text a string map (masks, auth config) is kept in.

use std::collections::BTreeMap;

use keel_core::{Error, Result};

pub(crate) const SECRET_COLUMNS: &str = "secret_id, workspace, secret_name, provider, \
     sealed_value, masked_values, auth_config, created_at, last_updated_at, created_by, \
     last_updated_by";

/// A model definition's columns, with its secret's name (`s`), read from [`DEFINITIONS_FROM`].
pub(crate) const DEFINITION_COLUMNS: &str = "d.model_definition_id, d.workspace, d.name, \
     d.secret_id, s.secret_name, d.provider, d.model_name, d.created_at, d.last_updated_at, \
     d.created_by, d.last_updated_by";

pub(crate) const DEFINITIONS_FROM: &str =
    "gateway_model_definitions d LEFT JOIN gateway_secrets s ON s.secret_id = d.secret_id";

pub(crate) const ENDPOINT_COLUMNS: &str = "endpoint_id, workspace, name, routing_strategy, \
     fallback_config, experiment_id, usage_tracking, created_at, last_updated_at, created_by, \
     last_updated_by";

/// A string map as stored.
pub(crate) fn map_text(map: &BTreeMap<String, String>) -> Result<String> {
    serde_json::to_string(map).map_err(|e| Error::internal(format!("cannot encode a map: {e}")))
}

/// A stored string map.
pub(crate) fn text_map(text: &str) -> serde_json::Result<BTreeMap<String, String>> {
    serde_json::from_str(text)
}

/// A budget policy's columns, in the order [`PolicyRow`] reads them.
pub(crate) const POLICY_COLUMNS: &str = "budget_policy_id, workspace, budget_amount, \
     duration_unit, duration_value, target_scope, target_value, budget_action, created_by, \
     created_at, last_updated_by, last_updated_at";

/// A budget policy as stored: its enums as their names.
pub(crate) struct PolicyRow {
    pub budget_policy_id: String,
    pub workspace: String,
    pub budget_amount: f64,
    pub duration_unit: String,
    pub duration_value: i64,
    pub target_scope: String,
    pub target_value: Option<String>,
    pub budget_action: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_updated_by: Option<String>,
    pub last_updated_at: i64,
}

impl PolicyRow {
    pub(crate) fn into_policy(self) -> Result<keel_gateway::BudgetPolicy> {
        let bad = || Error::internal("unexpected budget policy in database");
        Ok(keel_gateway::BudgetPolicy {
            duration: keel_gateway::windows::BudgetDuration {
                unit: keel_gateway::windows::DurationUnit::parse(&self.duration_unit)
                    .ok_or_else(bad)?,
                value: u32::try_from(self.duration_value).map_err(|_| bad())?,
            },
            target_scope: keel_gateway::TargetScope::parse(&self.target_scope).ok_or_else(bad)?,
            budget_action: keel_gateway::BudgetAction::parse(&self.budget_action)
                .ok_or_else(bad)?,
            budget_policy_id: self.budget_policy_id,
            workspace: self.workspace,
            budget_amount: self.budget_amount,
            target_value: self.target_value,
            created_by: self.created_by,
            created_at: self.created_at,
            last_updated_by: self.last_updated_by,
            last_updated_at: self.last_updated_at,
        })
    }
}

/// A rate limit's columns, in the order [`RateRow`] reads them.
pub(crate) const RATE_COLUMNS: &str = "rate_limit_id, workspace, target_scope, target_value, \
     requests_per_minute, tokens_per_minute, created_by, created_at, last_updated_by, \
     last_updated_at";

/// A rate limit as stored: its scope by name.
pub(crate) struct RateRow {
    pub rate_limit_id: String,
    pub workspace: String,
    pub target_scope: String,
    pub target_value: Option<String>,
    pub requests_per_minute: Option<i64>,
    pub tokens_per_minute: Option<i64>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_updated_by: Option<String>,
    pub last_updated_at: i64,
}

impl RateRow {
    pub(crate) fn into_limit(self) -> Result<keel_gateway::RateLimit> {
        Ok(keel_gateway::RateLimit {
            target_scope: keel_gateway::TargetScope::parse(&self.target_scope)
                .ok_or_else(|| Error::internal("unexpected rate limit in database"))?,
            rate_limit_id: self.rate_limit_id,
            workspace: self.workspace,
            target_value: self.target_value,
            requests_per_minute: self.requests_per_minute,
            tokens_per_minute: self.tokens_per_minute,
            created_by: self.created_by,
            created_at: self.created_at,
            last_updated_by: self.last_updated_by,
            last_updated_at: self.last_updated_at,
        })
    }
}

/// The counters of a policy or rate limit, as `LIKE` patterns never match anything else: its
/// own ID, and its ID followed by a colon and a dimension.
pub(crate) fn counter_pattern(id: &str) -> String {
    format!("{id}:%")
}

/// The usage ledger's upsert: a row's counts added to what is there.
pub(crate) const USAGE_UPSERT_TAIL: &str = "ON CONFLICT (workspace, day, endpoint_id, provider, \
     model, username) DO UPDATE SET calls = gateway_usage.calls + excluded.calls, \
     failures = gateway_usage.failures + excluded.failures, \
     cache_hits = gateway_usage.cache_hits + excluded.cache_hits, \
     input_tokens = gateway_usage.input_tokens + excluded.input_tokens, \
     output_tokens = gateway_usage.output_tokens + excluded.output_tokens, \
     cost_nanos = gateway_usage.cost_nanos + excluded.cost_nanos";

/// A usage query over the ledger, grouped as asked; its parameters are the workspace, the
/// first and last day, the endpoint and the username (either may be NULL: any), written with
/// `param(n)` (`?n` or `$n`). Only fixed column names enter the text.
pub(crate) fn usage_query_sql(
    group: keel_gateway::GroupBy,
    limit: usize,
    param: impl Fn(u8) -> String,
) -> String {
    let text_null = "CAST(NULL AS TEXT)";
    let pick = |on: bool, column: &'static str, null: &'static str| if on { column } else { null };
    let columns = [
        pick(group.day, "u.day", "CAST(NULL AS BIGINT)"),
        pick(group.endpoint, "u.endpoint_id", text_null),
        pick(group.endpoint, "MAX(e.name)", text_null),
        pick(group.model, "u.provider", text_null),
        pick(group.model, "u.model", text_null),
        pick(group.user, "u.username", text_null),
    ];
    let mut groups = Vec::new();
    if group.day {
        groups.push("u.day");
    }
    if group.endpoint {
        groups.push("u.endpoint_id");
    }
    if group.model {
        groups.extend(["u.provider", "u.model"]);
    }
    if group.user {
        groups.push("u.username");
    }
    let sums = [
        "calls",
        "failures",
        "cache_hits",
        "input_tokens",
        "output_tokens",
        "cost_nanos",
    ]
    .map(|c| format!("CAST(COALESCE(SUM(u.{c}), 0) AS BIGINT)"))
    .join(", ");
    let grouping = if groups.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {0} ORDER BY {0}", groups.join(", "))
    };
    format!(
        "SELECT {}, {sums} FROM gateway_usage u \
         LEFT JOIN gateway_endpoints e ON e.endpoint_id = u.endpoint_id \
         WHERE u.workspace = {} AND u.day >= {} AND u.day <= {} \
         AND ({4} IS NULL OR u.endpoint_id = {4}) AND ({5} IS NULL OR u.username = {5}){grouping} \
         LIMIT {limit}",
        columns.join(", "),
        param(1),
        param(2),
        param(3),
        param(4),
        param(5),
    )
}

/// A guardrail's columns (of `gateway_guardrails g`), in the order [`GuardrailRow`] reads them.
pub(crate) const GUARDRAIL_COLUMNS: &str = "g.guardrail_id, g.workspace, g.name, g.stage, \
     g.action, g.detector, g.created_by, g.created_at, g.last_updated_by, g.last_updated_at";

/// A config's own columns (of `gateway_guardrail_configs c`), read before [`GUARDRAIL_COLUMNS`].
pub(crate) const GUARDRAIL_CONFIG_COLUMNS: &str =
    "c.endpoint_id, c.execution_order, c.created_by, c.created_at";

/// An endpoint's configs with their guardrails, in the order they run (unset order last).
pub(crate) const ENDPOINT_GUARDRAILS_FROM: &str = "gateway_guardrail_configs c \
     JOIN gateway_guardrails g ON g.guardrail_id = c.guardrail_id";
pub(crate) const ENDPOINT_GUARDRAILS_ORDER: &str =
    "ORDER BY c.execution_order IS NULL, c.execution_order, c.guardrail_id";

/// A guardrail as stored: its enums as their names, its detector as JSON text.
pub(crate) struct GuardrailRow {
    pub guardrail_id: String,
    pub workspace: String,
    pub name: String,
    pub stage: String,
    pub action: String,
    pub detector: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_updated_by: Option<String>,
    pub last_updated_at: i64,
}

impl GuardrailRow {
    pub(crate) fn into_guardrail(self) -> Result<keel_gateway::Guardrail> {
        use keel_gateway::guardrails::{Action, Stage, detectors::DetectorSpec};
        let bad = || Error::internal("unexpected guardrail in database");
        let detector: serde_json::Value =
            serde_json::from_str(&self.detector).map_err(|_| bad())?;
        Ok(keel_gateway::Guardrail {
            stage: Stage::parse(&self.stage).ok_or_else(bad)?,
            action: Action::parse(&self.action).ok_or_else(bad)?,
            detector: DetectorSpec::parse(&detector).map_err(|_| bad())?,
            guardrail_id: self.guardrail_id,
            workspace: self.workspace,
            name: self.name,
            created_by: self.created_by,
            created_at: self.created_at,
            last_updated_by: self.last_updated_by,
            last_updated_at: self.last_updated_at,
        })
    }
}

/// A config's own columns as stored.
pub(crate) struct GuardrailConfigRow {
    pub endpoint_id: String,
    pub execution_order: Option<i32>,
    pub created_by: Option<String>,
    pub created_at: i64,
}

impl GuardrailConfigRow {
    pub(crate) fn with(self, guardrail: GuardrailRow) -> Result<keel_gateway::GuardrailConfig> {
        let guardrail = guardrail.into_guardrail()?;
        Ok(keel_gateway::GuardrailConfig {
            endpoint_id: self.endpoint_id,
            guardrail_id: guardrail.guardrail_id.clone(),
            execution_order: self.execution_order,
            created_by: self.created_by,
            created_at: self.created_at,
            guardrail,
        })
    }
}
