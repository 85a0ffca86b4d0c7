-- Keel schema, version 7 (PostgreSQL): LLM traces and their spans. Mirrors
-- migrations/sqlite/0005_traces.sql. Trace times are milliseconds; span times nanoseconds.

CREATE TABLE traces (
    trace_key          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trace_id           TEXT COLLATE "C" NOT NULL UNIQUE,
    experiment_id      BIGINT NOT NULL REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    client_request_id  TEXT COLLATE "C",
    request_time       BIGINT NOT NULL,
    execution_duration BIGINT,
    state              TEXT COLLATE "C" NOT NULL
        CHECK (state IN ('STATE_UNSPECIFIED', 'OK', 'ERROR', 'IN_PROGRESS')),
    request_preview    TEXT COLLATE "C",
    response_preview   TEXT COLLATE "C"
);
CREATE INDEX traces_by_experiment_time ON traces (experiment_id, request_time DESC, trace_id);

CREATE TABLE trace_tags (
    trace_key BIGINT NOT NULL REFERENCES traces (trace_key) ON DELETE CASCADE,
    key       TEXT COLLATE "C" NOT NULL,
    value     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (trace_key, key)
);

CREATE TABLE trace_metadata (
    trace_key BIGINT NOT NULL REFERENCES traces (trace_key) ON DELETE CASCADE,
    key       TEXT COLLATE "C" NOT NULL,
    value     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (trace_key, key)
);

CREATE TABLE spans (
    trace_key      BIGINT NOT NULL REFERENCES traces (trace_key) ON DELETE CASCADE,
    span_id        TEXT COLLATE "C" NOT NULL,
    parent_span_id TEXT COLLATE "C",
    name           TEXT COLLATE "C" NOT NULL,
    span_type      TEXT COLLATE "C" NOT NULL,
    status         TEXT COLLATE "C" NOT NULL CHECK (status IN ('UNSET', 'OK', 'ERROR')),
    start_time     BIGINT NOT NULL,
    end_time       BIGINT,
    token_usage    TEXT COLLATE "C",
    content        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (trace_key, span_id)
);
CREATE INDEX spans_in_order ON spans (trace_key, (parent_span_id IS NOT NULL), start_time, span_id);
