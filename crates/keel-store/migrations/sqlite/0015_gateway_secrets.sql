-- Keel schema, version 15 (SQLite): the AI gateway's provider credentials. `sealed_value` is
-- the AES-256-GCM sealed JSON of the secret's values (bound to its ID and name); the masks and
-- the auth config (non-secret settings such as `api_base`) are JSON objects. Names are unique
-- per workspace.
CREATE TABLE gateway_secrets (
    secret_id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL REFERENCES workspaces (name),
    secret_name TEXT NOT NULL,
    provider TEXT,
    sealed_value TEXT NOT NULL,
    masked_values TEXT NOT NULL,
    auth_config TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_updated_at INTEGER NOT NULL,
    created_by TEXT,
    last_updated_by TEXT,
    UNIQUE (workspace, secret_name)
);
