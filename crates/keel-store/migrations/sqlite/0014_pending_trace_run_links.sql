-- Keel schema, version 14 (SQLite): links to runs for traces that have not arrived yet. The
-- client sends a trace asynchronously, so `traces/link-to-run` often comes first; the link is
-- kept here and moved into `trace_run_links` when the trace is created in the run's experiment
-- (a trace that arrives in another experiment drops it). Deleting the run drops its links.
CREATE TABLE pending_trace_run_links (
    trace_id TEXT NOT NULL,
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid) ON DELETE CASCADE,
    PRIMARY KEY (trace_id, run_uuid)
) WITHOUT ROWID;
CREATE INDEX pending_trace_run_links_by_run ON pending_trace_run_links (run_uuid);
