-- Keel schema, version 18 (PostgreSQL): what is bound to an AI gateway endpoint. Mirrors
-- migrations/sqlite/0018_gateway_bindings.sql.
CREATE TABLE gateway_endpoint_bindings (
    endpoint_id TEXT COLLATE "C" NOT NULL REFERENCES gateway_endpoints (endpoint_id) ON DELETE CASCADE,
    resource_type TEXT COLLATE "C" NOT NULL,
    resource_id TEXT COLLATE "C" NOT NULL,
    display_name TEXT,
    created_at BIGINT NOT NULL,
    last_updated_at BIGINT NOT NULL,
    created_by TEXT,
    last_updated_by TEXT,
    PRIMARY KEY (endpoint_id, resource_type, resource_id)
);
CREATE INDEX gateway_endpoint_bindings_by_resource
    ON gateway_endpoint_bindings (resource_type, resource_id);
