-- Keel schema, version 18 (SQLite): what is bound to an AI gateway endpoint (a scorer whose
-- judge calls it). Deleting the endpoint deletes its bindings.
CREATE TABLE gateway_endpoint_bindings (
    endpoint_id TEXT NOT NULL REFERENCES gateway_endpoints (endpoint_id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    display_name TEXT,
    created_at INTEGER NOT NULL,
    last_updated_at INTEGER NOT NULL,
    created_by TEXT,
    last_updated_by TEXT,
    PRIMARY KEY (endpoint_id, resource_type, resource_id)
) WITHOUT ROWID;
CREATE INDEX gateway_endpoint_bindings_by_resource
    ON gateway_endpoint_bindings (resource_type, resource_id);
