-- Keel schema, version 6 (SQLite): what hangs off a trace besides its spans: assessments
-- (feedback and expectations from humans, LLM judges or code) and links to runs and prompt
-- versions.

-- One row per assessment. `value` is the JSON of the feedback's or expectation's value (NULL when
-- a feedback carries only an error); `numeric_value` is that value as a number when it is a
-- number or a boolean (true = 1), for `feedback.<name> > 0.5` filters; `metadata` a JSON object.
CREATE TABLE assessments (
    assessment_id    TEXT    NOT NULL PRIMARY KEY,
    trace_key        INTEGER NOT NULL REFERENCES traces (trace_key) ON DELETE CASCADE,
    name             TEXT    NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('feedback', 'expectation')),
    value            TEXT,
    numeric_value    REAL,
    error            TEXT,
    source_type      TEXT    NOT NULL,
    source_id        TEXT    NOT NULL,
    span_id          TEXT,
    rationale        TEXT,
    metadata         TEXT    NOT NULL DEFAULT '{}',
    overrides        TEXT,
    valid            INTEGER NOT NULL DEFAULT 1 CHECK (valid IN (0, 1)),
    create_time      INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);
CREATE INDEX assessments_by_trace ON assessments (trace_key, create_time);
CREATE INDEX assessments_by_name ON assessments (name, kind, trace_key);

-- Traces linked to runs explicitly (`traces/link-to-run`, or the OTLP `x-mlflow-run-id` header);
-- the implicit link is the trace's `mlflow.sourceRun` metadata.
CREATE TABLE trace_run_links (
    trace_key INTEGER NOT NULL REFERENCES traces (trace_key) ON DELETE CASCADE,
    run_uuid  TEXT    NOT NULL,
    PRIMARY KEY (trace_key, run_uuid)
) WITHOUT ROWID;
CREATE INDEX trace_run_links_by_run ON trace_run_links (run_uuid, trace_key);

-- Prompt versions a trace used (`traces/link-prompts`).
CREATE TABLE trace_prompt_links (
    trace_key      INTEGER NOT NULL REFERENCES traces (trace_key) ON DELETE CASCADE,
    prompt_name    TEXT    NOT NULL,
    prompt_version TEXT    NOT NULL,
    PRIMARY KEY (trace_key, prompt_name, prompt_version)
) WITHOUT ROWID;
CREATE INDEX trace_prompt_links_by_prompt ON trace_prompt_links (prompt_name, prompt_version, trace_key);

-- Searches filter and order on tags and metadata by key and value.
CREATE INDEX trace_tags_by_key ON trace_tags (key, value);
CREATE INDEX trace_metadata_by_key ON trace_metadata (key, value);
CREATE INDEX spans_by_name ON spans (name, trace_key);
