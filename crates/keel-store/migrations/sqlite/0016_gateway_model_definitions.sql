-- Keel schema, version 16 (SQLite): the AI gateway's model definitions, a provider's model
-- reached with one secret. Deleting the secret leaves the definition without one. Names are
-- unique per workspace.
CREATE TABLE gateway_model_definitions (
    model_definition_id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL REFERENCES workspaces (name),
    name TEXT NOT NULL,
    secret_id TEXT REFERENCES gateway_secrets (secret_id) ON DELETE SET NULL,
    provider TEXT NOT NULL,
    model_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_updated_at INTEGER NOT NULL,
    created_by TEXT,
    last_updated_by TEXT,
    UNIQUE (workspace, name)
);
CREATE INDEX gateway_model_definitions_by_secret ON gateway_model_definitions (secret_id);
