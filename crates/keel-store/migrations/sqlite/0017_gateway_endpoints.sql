-- Keel schema, version 17 (SQLite): the AI gateway's endpoints, the model definitions each
-- routes to (in their configured order: `position`) and their tags. A definition an endpoint
-- routes to cannot be deleted; deleting an endpoint deletes its mappings and tags. Names are
-- unique per workspace.
CREATE TABLE gateway_endpoints (
    endpoint_id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL REFERENCES workspaces (name),
    name TEXT NOT NULL,
    routing_strategy TEXT,
    fallback_config TEXT,
    experiment_id TEXT,
    usage_tracking INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_updated_at INTEGER NOT NULL,
    created_by TEXT,
    last_updated_by TEXT,
    UNIQUE (workspace, name)
);
CREATE TABLE gateway_endpoint_models (
    mapping_id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES gateway_endpoints (endpoint_id) ON DELETE CASCADE,
    model_definition_id TEXT NOT NULL REFERENCES gateway_model_definitions (model_definition_id),
    position INTEGER NOT NULL,
    linkage_type TEXT NOT NULL,
    weight REAL NOT NULL,
    fallback_order INTEGER,
    created_at INTEGER NOT NULL,
    created_by TEXT,
    UNIQUE (endpoint_id, model_definition_id, linkage_type)
);
CREATE INDEX gateway_endpoint_models_by_definition ON gateway_endpoint_models (model_definition_id);
CREATE TABLE gateway_endpoint_tags (
    endpoint_id TEXT NOT NULL REFERENCES gateway_endpoints (endpoint_id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, key)
) WITHOUT ROWID;
