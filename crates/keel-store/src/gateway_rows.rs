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
