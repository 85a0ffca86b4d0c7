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

/// Every table with a `workspace` column. Rows of other tables (runs, traces, logged models,
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
];
