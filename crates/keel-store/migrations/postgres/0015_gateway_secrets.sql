-- Keel schema, version 15 (PostgreSQL): the AI gateway's provider credentials. Mirrors
-- migrations/sqlite/0015_gateway_secrets.sql.
CREATE TABLE gateway_secrets (
    secret_id TEXT COLLATE "C" PRIMARY KEY,
    workspace TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name),
    secret_name TEXT COLLATE "C" NOT NULL,
    provider TEXT COLLATE "C",
    sealed_value TEXT NOT NULL,
    masked_values TEXT NOT NULL,
    auth_config TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_updated_at BIGINT NOT NULL,
    created_by TEXT,
    last_updated_by TEXT,
    UNIQUE (workspace, secret_name)
);
