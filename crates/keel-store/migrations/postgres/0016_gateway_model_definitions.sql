-- Keel schema, version 16 (PostgreSQL): the AI gateway's model definitions. Mirrors
-- migrations/sqlite/0016_gateway_model_definitions.sql.
CREATE TABLE gateway_model_definitions (
    model_definition_id TEXT COLLATE "C" PRIMARY KEY,
    workspace TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name),
    name TEXT COLLATE "C" NOT NULL,
    secret_id TEXT COLLATE "C" REFERENCES gateway_secrets (secret_id) ON DELETE SET NULL,
    provider TEXT COLLATE "C" NOT NULL,
    model_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_updated_at BIGINT NOT NULL,
    created_by TEXT,
    last_updated_by TEXT,
    UNIQUE (workspace, name)
);
CREATE INDEX gateway_model_definitions_by_secret ON gateway_model_definitions (secret_id);
