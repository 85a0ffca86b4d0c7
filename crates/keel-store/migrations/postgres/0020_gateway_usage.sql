-- Keel schema, version 20 (PostgreSQL): the AI gateway's usage ledger. Mirrors
-- migrations/sqlite/0020_gateway_usage.sql.
CREATE TABLE gateway_usage (
    workspace TEXT COLLATE "C" NOT NULL,
    day BIGINT NOT NULL,
    endpoint_id TEXT COLLATE "C" NOT NULL,
    provider TEXT COLLATE "C" NOT NULL,
    model TEXT COLLATE "C" NOT NULL,
    username TEXT COLLATE "C" NOT NULL,
    calls BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    cache_hits BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cost_nanos BIGINT NOT NULL,
    PRIMARY KEY (workspace, day, endpoint_id, provider, model, username)
);
