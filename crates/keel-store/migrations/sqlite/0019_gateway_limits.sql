-- Keel schema, version 19 (SQLite): the AI gateway's budget policies and rate limits, and the counters calls
-- are held to. A counter is a policy's use in one window; a hold is what one call in flight
-- reserved on it (kept so that a hold its replica never settled can be released).
CREATE TABLE gateway_budget_policies (
    budget_policy_id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    budget_unit TEXT NOT NULL,
    budget_amount REAL NOT NULL,
    duration_unit TEXT NOT NULL,
    duration_value INTEGER NOT NULL,
    target_scope TEXT NOT NULL,
    target_value TEXT,
    budget_action TEXT NOT NULL,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    last_updated_by TEXT,
    last_updated_at INTEGER NOT NULL
);
CREATE INDEX gateway_budget_policies_by_workspace
    ON gateway_budget_policies (workspace, budget_policy_id);
CREATE TABLE gateway_limit_counters (
    counter TEXT NOT NULL,
    window_start_ms INTEGER NOT NULL,
    window_end_ms INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    held INTEGER NOT NULL DEFAULT 0,
    reached INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (counter, window_start_ms)
) WITHOUT ROWID;
CREATE INDEX gateway_limit_counters_by_end ON gateway_limit_counters (window_end_ms);
CREATE TABLE gateway_limit_holds (
    hold_id TEXT NOT NULL,
    counter TEXT NOT NULL,
    window_start_ms INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (hold_id, counter)
) WITHOUT ROWID;
CREATE INDEX gateway_limit_holds_by_expiry ON gateway_limit_holds (expires_at);
-- Keel's rate limits (requests and tokens per UTC minute); their counters are
-- `<rate_limit_id>:requests` and `<rate_limit_id>:tokens`.
CREATE TABLE gateway_rate_limits (
    rate_limit_id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    target_scope TEXT NOT NULL,
    target_value TEXT,
    requests_per_minute INTEGER,
    tokens_per_minute INTEGER,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    last_updated_by TEXT,
    last_updated_at INTEGER NOT NULL
);
CREATE INDEX gateway_rate_limits_by_workspace ON gateway_rate_limits (workspace, rate_limit_id);
