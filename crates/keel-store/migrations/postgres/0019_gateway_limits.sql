-- Keel schema, version 19 (PostgreSQL): the AI gateway's budget policies and rate limits, and the counters calls
-- are held to. A counter is a policy's use in one window; a hold is what one call in flight
-- reserved on it. Mirrors migrations/sqlite/0019_gateway_limits.sql.
CREATE TABLE gateway_budget_policies (
    budget_policy_id TEXT COLLATE "C" PRIMARY KEY,
    workspace TEXT COLLATE "C" NOT NULL,
    budget_unit TEXT NOT NULL,
    budget_amount DOUBLE PRECISION NOT NULL,
    duration_unit TEXT NOT NULL,
    duration_value BIGINT NOT NULL,
    target_scope TEXT NOT NULL,
    target_value TEXT,
    budget_action TEXT NOT NULL,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    last_updated_by TEXT,
    last_updated_at BIGINT NOT NULL
);
CREATE INDEX gateway_budget_policies_by_workspace
    ON gateway_budget_policies (workspace, budget_policy_id);
CREATE TABLE gateway_limit_counters (
    counter TEXT COLLATE "C" NOT NULL,
    window_start_ms BIGINT NOT NULL,
    window_end_ms BIGINT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0,
    held BIGINT NOT NULL DEFAULT 0,
    reached BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (counter, window_start_ms)
);
CREATE INDEX gateway_limit_counters_by_end ON gateway_limit_counters (window_end_ms);
CREATE TABLE gateway_limit_holds (
    hold_id TEXT COLLATE "C" NOT NULL,
    counter TEXT COLLATE "C" NOT NULL,
    window_start_ms BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (hold_id, counter)
);
CREATE INDEX gateway_limit_holds_by_expiry ON gateway_limit_holds (expires_at);
-- Keel's rate limits (requests and tokens per UTC minute); their counters are
-- `<rate_limit_id>:requests` and `<rate_limit_id>:tokens`.
CREATE TABLE gateway_rate_limits (
    rate_limit_id TEXT COLLATE "C" PRIMARY KEY,
    workspace TEXT COLLATE "C" NOT NULL,
    target_scope TEXT NOT NULL,
    target_value TEXT,
    requests_per_minute BIGINT,
    tokens_per_minute BIGINT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    last_updated_by TEXT,
    last_updated_at BIGINT NOT NULL
);
CREATE INDEX gateway_rate_limits_by_workspace ON gateway_rate_limits (workspace, rate_limit_id);
