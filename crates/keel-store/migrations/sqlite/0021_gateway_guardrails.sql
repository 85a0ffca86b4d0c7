-- Keel schema, version 21 (SQLite): the AI gateway's guardrails (a built-in detector run on a
-- call's request or answer, to block or to redact) and which endpoints run them, in order.
-- Deleting a guardrail or an endpoint deletes its configs.
CREATE TABLE gateway_guardrails (
    guardrail_id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL REFERENCES workspaces (name),
    name TEXT NOT NULL,
    stage TEXT NOT NULL,
    action TEXT NOT NULL,
    detector TEXT NOT NULL,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    last_updated_by TEXT,
    last_updated_at INTEGER NOT NULL
);
CREATE INDEX gateway_guardrails_by_workspace ON gateway_guardrails (workspace, guardrail_id);
CREATE TABLE gateway_guardrail_configs (
    endpoint_id TEXT NOT NULL REFERENCES gateway_endpoints (endpoint_id) ON DELETE CASCADE,
    guardrail_id TEXT NOT NULL REFERENCES gateway_guardrails (guardrail_id) ON DELETE CASCADE,
    execution_order INTEGER,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, guardrail_id)
) WITHOUT ROWID;
CREATE INDEX gateway_guardrail_configs_by_guardrail ON gateway_guardrail_configs (guardrail_id);
