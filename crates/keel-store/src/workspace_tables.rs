//! The tables whose rows belong to a workspace, as both backends delete, move and count them
//! when a workspace is deleted.

/// A table holding a workspace's own resources.
pub(crate) struct HeldTable {
    pub table: &'static str,
    /// The column whose values are unique per workspace (the name clashes SET_DEFAULT reports);
    /// `None` when names may repeat.
    pub unique_name: Option<&'static str>,
    /// Which rows still count as resources (rows only marked deleted do not hold a workspace).
    pub live: &'static str,
}

/// Every table with a `workspace` column, in the order a cascade deletes them (the gateway's:
/// endpoints — with their models, tags, bindings and guardrail configs — before the guardrails,
/// model definitions and secrets they use). Rows of other tables (runs, traces, logged models,
/// model versions, webhook deliveries...) follow these by foreign key.
pub(crate) const HELD: &[HeldTable] = &[
    HeldTable {
        table: "experiments",
        unique_name: Some("name"),
        live: "TRUE",
    },
    HeldTable {
        table: "registered_models",
        unique_name: Some("name"),
        live: "TRUE",
    },
    HeldTable {
        table: "webhooks",
        unique_name: None,
        live: "deleted_time IS NULL",
    },
    HeldTable {
        table: "gateway_endpoints",
        unique_name: Some("name"),
        live: "TRUE",
    },
    HeldTable {
        table: "gateway_guardrails",
        unique_name: None,
        live: "TRUE",
    },
    HeldTable {
        table: "gateway_model_definitions",
        unique_name: Some("name"),
        live: "TRUE",
    },
    HeldTable {
        table: "gateway_secrets",
        unique_name: Some("secret_name"),
        live: "TRUE",
    },
    HeldTable {
        table: "gateway_budget_policies",
        unique_name: None,
        live: "TRUE",
    },
    HeldTable {
        table: "gateway_rate_limits",
        unique_name: None,
        live: "TRUE",
    },
];
