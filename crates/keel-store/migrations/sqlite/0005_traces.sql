-- Keel schema, version 5 (SQLite): LLM traces and their spans.
-- Times of traces are milliseconds since the Unix epoch; span times are nanoseconds, as OTLP
-- sends them. Rows that belong to a trace reference it by `trace_key`, an integer surrogate of
-- its `tr-<hex>` ID.

CREATE TABLE traces (
    trace_key          INTEGER PRIMARY KEY,
    trace_id           TEXT    NOT NULL UNIQUE,
    experiment_id      INTEGER NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    client_request_id  TEXT,
    request_time       INTEGER NOT NULL,
    execution_duration INTEGER,
    state              TEXT    NOT NULL
        CHECK (state IN ('STATE_UNSPECIFIED', 'OK', 'ERROR', 'IN_PROGRESS')),
    request_preview    TEXT,
    response_preview   TEXT
);
-- search_traces' default order within an experiment: newest first.
CREATE INDEX traces_by_experiment_time ON traces (experiment_id, request_time DESC, trace_id);

CREATE TABLE trace_tags (
    trace_key INTEGER NOT NULL REFERENCES traces (trace_key) ON DELETE CASCADE,
    key       TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    PRIMARY KEY (trace_key, key)
) WITHOUT ROWID;

CREATE TABLE trace_metadata (
    trace_key INTEGER NOT NULL REFERENCES traces (trace_key) ON DELETE CASCADE,
    key       TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    PRIMARY KEY (trace_key, key)
) WITHOUT ROWID;

-- One row per span. `content` is a JSON document with the attributes, events and status message;
-- the columns are what searches and trace-level figures read without it.
CREATE TABLE spans (
    trace_key      INTEGER NOT NULL REFERENCES traces (trace_key) ON DELETE CASCADE,
    span_id        TEXT    NOT NULL,
    parent_span_id TEXT,
    name           TEXT    NOT NULL,
    span_type      TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('UNSET', 'OK', 'ERROR')),
    start_time     INTEGER NOT NULL,
    end_time       INTEGER,
    token_usage    TEXT,
    content        TEXT    NOT NULL,
    UNIQUE (trace_key, span_id)
);
-- A trace's spans in read order: the root first, then by start time.
CREATE INDEX spans_in_order ON spans (trace_key, parent_span_id IS NOT NULL, start_time, span_id);
