-- Keel schema, version 21 (PostgreSQL): the AI gateway's guardrails and which endpoints run
-- them. Mirrors migrations/sqlite/0021_gateway_guardrails.sql.
CREATE TABLE gateway_guardrails (
    guardrail_id TEXT COLLATE "C" PRIMARY KEY,
    workspace TEXT COLLATE "C" NOT NULL REFERENCES workspaces (name),
    name TEXT NOT NULL,
    stage TEXT NOT NULL,
    action TEXT NOT NULL,
    detector TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    last_updated_by TEXT,
    last_updated_at BIGINT NOT NULL
);
CREATE INDEX gateway_guardrails_by_workspace ON gateway_guardrails (workspace, guardrail_id);
CREATE TABLE gateway_guardrail_configs (
    endpoint_id TEXT COLLATE "C" NOT NULL REFERENCES gateway_endpoints (endpoint_id) ON DELETE CASCADE,
    guardrail_id TEXT COLLATE "C" NOT NULL REFERENCES gateway_guardrails (guardrail_id) ON DELETE CASCADE,
    execution_order INTEGER,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (endpoint_id, guardrail_id)
);
CREATE INDEX gateway_guardrail_configs_by_guardrail ON gateway_guardrail_configs (guardrail_id);
