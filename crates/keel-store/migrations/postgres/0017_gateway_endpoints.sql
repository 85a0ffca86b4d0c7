-- Keel schema, version 17 (PostgreSQL): the AI gateway's endpoints, their model mappings and
-- tags. Mirrors migrations/sqlite/0017_gateway_endpoints.sql.
CREATE TABLE gateway_endpoints (
    endpoint_id TEXT COLLATE "C" PRIMARY KEY,
    workspace TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name),
    name TEXT COLLATE "C" NOT NULL,
    routing_strategy TEXT,
    fallback_config TEXT,
    experiment_id TEXT COLLATE "C",
    usage_tracking BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    last_updated_at BIGINT NOT NULL,
    created_by TEXT,
    last_updated_by TEXT,
    UNIQUE (workspace, name)
);
CREATE TABLE gateway_endpoint_models (
    mapping_id TEXT COLLATE "C" PRIMARY KEY,
    endpoint_id TEXT COLLATE "C" NOT NULL REFERENCES gateway_endpoints (endpoint_id) ON DELETE CASCADE,
    model_definition_id TEXT COLLATE "C" NOT NULL
        REFERENCES gateway_model_definitions (model_definition_id),
    position INTEGER NOT NULL,
    linkage_type TEXT NOT NULL,
    weight DOUBLE PRECISION NOT NULL,
    fallback_order INTEGER,
    created_at BIGINT NOT NULL,
    created_by TEXT,
    UNIQUE (endpoint_id, model_definition_id, linkage_type)
);
CREATE INDEX gateway_endpoint_models_by_definition ON gateway_endpoint_models (model_definition_id);
CREATE TABLE gateway_endpoint_tags (
    endpoint_id TEXT COLLATE "C" NOT NULL REFERENCES gateway_endpoints (endpoint_id) ON DELETE CASCADE,
    key TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, key)
);
