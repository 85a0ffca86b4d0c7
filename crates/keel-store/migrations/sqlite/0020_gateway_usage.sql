-- Keel schema, version 20 (SQLite): the AI gateway's usage ledger — what calls used and cost,
-- summed per workspace, UTC day (days since 1970-01-01), endpoint, serving model and user.
CREATE TABLE gateway_usage (
    workspace TEXT NOT NULL,
    day INTEGER NOT NULL,
    endpoint_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    username TEXT NOT NULL,
    calls INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    cache_hits INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_nanos INTEGER NOT NULL,
    PRIMARY KEY (workspace, day, endpoint_id, provider, model, username)
) WITHOUT ROWID;
