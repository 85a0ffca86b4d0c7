-- Keel schema, version 8 (PostgreSQL): assessments and trace links. Mirrors
-- migrations/sqlite/0006_trace_links_and_assessments.sql.

CREATE TABLE assessments (
    assessment_id    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    trace_key        BIGINT NOT NULL REFERENCES traces (trace_key) ON DELETE CASCADE,
    name             TEXT COLLATE "C" NOT NULL,
    kind             TEXT COLLATE "C" NOT NULL CHECK (kind IN ('feedback', 'expectation')),
    value            TEXT COLLATE "C",
    numeric_value    DOUBLE PRECISION,
    error            TEXT COLLATE "C",
    source_type      TEXT COLLATE "C" NOT NULL,
    source_id        TEXT COLLATE "C" NOT NULL,
    span_id          TEXT COLLATE "C",
    rationale        TEXT COLLATE "C",
    metadata         TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    overrides        TEXT COLLATE "C",
    valid            BOOLEAN NOT NULL DEFAULT TRUE,
    create_time      BIGINT NOT NULL,
    last_update_time BIGINT NOT NULL
);
CREATE INDEX assessments_by_trace ON assessments (trace_key, create_time);
CREATE INDEX assessments_by_name ON assessments (name, kind, trace_key);

CREATE TABLE trace_run_links (
    trace_key BIGINT NOT NULL REFERENCES traces (trace_key) ON DELETE CASCADE,
    run_uuid  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (trace_key, run_uuid)
);
CREATE INDEX trace_run_links_by_run ON trace_run_links (run_uuid, trace_key);

CREATE TABLE trace_prompt_links (
    trace_key      BIGINT NOT NULL REFERENCES traces (trace_key) ON DELETE CASCADE,
    prompt_name    TEXT COLLATE "C" NOT NULL,
    prompt_version TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (trace_key, prompt_name, prompt_version)
);
CREATE INDEX trace_prompt_links_by_prompt ON trace_prompt_links (prompt_name, prompt_version, trace_key);

-- A B-tree entry holds at most ~2.7 kB, so values are indexed by their first 100 characters,
-- as params and tags are (see 0003_search_indexes.sql).
CREATE INDEX trace_tags_by_key ON trace_tags (key, left(value, 100));
CREATE INDEX trace_metadata_by_key ON trace_metadata (key, left(value, 100));
CREATE INDEX spans_by_name ON spans (name, trace_key);
