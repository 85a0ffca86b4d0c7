-- Keel schema, version 14 (PostgreSQL): links to runs for traces that have not arrived yet.
-- Mirrors migrations/sqlite/0014_pending_trace_run_links.sql. A link and the trace's creation
-- take the same transaction-scoped advisory lock on the trace ID, so neither misses the other.
CREATE TABLE pending_trace_run_links (
    trace_id TEXT COLLATE "C" NOT NULL,
    run_uuid TEXT COLLATE "C" NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    PRIMARY KEY (trace_id, run_uuid)
);
CREATE INDEX pending_trace_run_links_by_run ON pending_trace_run_links (run_uuid);
